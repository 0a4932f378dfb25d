"""One owner for spec edits: rigid forms, plain-language label lists, grounding, diffs, refusals."""

from __future__ import annotations

import pytest

from tools.contracts import TaskSpec
from tools.spec_edit import (
    SpecChange,
    apply_change,
    check_spec,
    grounded,
    label_key,
    reply_labels,
    rigid_change,
)
from tools.spec_parse import parse_description

EMAILS = TaskSpec(instruction="I want to sort our customer emails so the right team gets them",
                  kind="generation")  # how a model misread it
TICKETS = TaskSpec(instruction="Route tickets.", kind="classification",
                   labels=["billing", "tech support", "sales"])


@pytest.mark.parametrize("reply,labels", [
    ("the teams are billing, tech support and sales", ["billing", "tech support", "sales"]),
    ("billing, tech support, sales", ["billing", "tech support", "sales"]),
    ("they would be: refunds / shipping / other", ["refunds", "shipping", "other"]),
    ("Billing and Sales", ["Billing", "Sales"]),
    ("is it spam?", []),
])
def test_label_lists_typed_as_answers(reply, labels):
    assert reply_labels(reply) == labels


def test_rigid_forms_need_a_key_and_a_colon():
    assert rigid_change("labels look good, go") is None  # was read as labels ["look good", "go"]
    assert rigid_change("labels: a, b, c").labels == ["a", "b", "c"]
    assert rigid_change("target: 90%").target == 0.9 and rigid_change("target=0.85").target == 0.85
    assert rigid_change("budget: 50 calls").budget == {"max_llm_calls": 50}
    assert rigid_change("language: German").language == "de"
    assert rigid_change("yes") is None


def test_labels_make_a_classification_with_fitting_formats_and_metric():
    bad = EMAILS.model_copy(update={"input_format": "json", "output_format": "json"})
    new, diff = apply_change(bad, SpecChange(labels=["billing", "tech support", "sales"]))
    assert (new.kind, new.metric, new.input_format, new.output_format) == (
        "classification", "accuracy", "text", "one label")
    assert new.version == bad.version + 1
    assert diff == ["kind: generation -> classification",
                    "labels: (none) -> billing, tech support, sales",
                    "input_format: json -> text", "output_format: json -> one label",
                    "metric: chrf -> accuracy"]


def test_drop_add_target_language_and_no_change():
    new, diff = apply_change(TICKETS, SpecChange(drop_labels=["Sales"], add_labels=["refunds"],
                                                 target=0.9, language="de"))
    assert new.labels == ["billing", "tech support", "refunds"] and new.target == 0.9
    assert new.constraints.language == "de" and "language: en -> de" in diff
    same, none = apply_change(TICKETS, SpecChange())
    assert none == [] and same.version == TICKETS.version


def test_grounding_drops_what_the_reply_does_not_say(tmp_path):
    change = SpecChange(labels=["billing", "invoices", "sales"], target=90.0, language="fr",
                        drop_labels=["marketing", "sales"], data_files=[str(tmp_path / "nope.csv")])
    out, ignored = grounded(change, "aim for 90% and use billing and sales", TICKETS)
    assert out.labels == ["billing", "sales"] and out.target == 0.9
    assert out.language is None and out.drop_labels == ["sales"] and out.data_files == []
    assert "label 'invoices' (not in your reply)" in ignored
    assert "language 'fr' (not named in your reply)" in ignored and any("nope.csv" in i for i in ignored)
    f = tmp_path / "tickets.csv"
    f.write_text("text,label\nx,billing\n")
    assert grounded(SpecChange(data_files=[str(f)]), f"use my file {f}", TICKETS)[0].data_files == [str(f)]


def test_nonsense_values_are_refused_with_a_reason():
    spec = TaskSpec(instruction="Summarise articles.", kind="generation", input_format="json",
                    metric="accuracy")
    fixed, notes = check_spec(spec, "Summarise news articles in one line.")
    assert fixed.input_format == "text" and fixed.metric == "chrf"
    assert notes == ["input_format 'json' refused: the description never mentions JSON; using 'text'",
                     "metric 'accuracy' does not fit a generation task; using 'chrf'"]
    ok, none = check_spec(spec.model_copy(update={"metric": "chrf"}), "Turn JSON records into text")
    assert none == [] and ok.input_format == "json"


def test_loose_label_identity():
    assert label_key("Tech_Support") == label_key("tech support") == label_key("tech-supports")
    assert label_key("class") != label_key("clas")
