"""Content loading from folders and user files, and fitting datasets to a task."""

from __future__ import annotations

import json

import pytest

from tools.contracts import Candidate, TaskSpec
from tools.hub.catalog import scan_catalogs
from tools.hub.content import ContentUnavailable, load_local
from tools.hub.mapping import (
    fit_dataset,
    heuristic_mapping,
    load_examples,
    user_file_candidate,
)
from tools.settings import Settings

QUESTIONS = [("How far is it from Denver to Aspen ?", 5), ("Who is the tallest man ?", 3),
             ("Where is Aspen ?", 4), ("What does NASA stand for ?", 0)]
CODES = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def _write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def trec_like(tmp_path):
    """A catalog folder: ClassLabel-style int labels, labels.json with descriptions, a card."""
    d = tmp_path / "cat" / "questions"
    _write_jsonl(d / "train.jsonl", [{"text": q, "coarse_label": y} for q, y in QUESTIONS * 3])
    _write_jsonl(d / "test" / "part-0.jsonl", [{"text": q, "coarse_label": y} for q, y in QUESTIONS])
    (d / "labels.json").write_text(json.dumps({"labels": CODES, "descriptions": {
        "ABBR": "abbreviation", "DESC": "description", "ENTY": "entity", "HUM": "human being",
        "LOC": "location", "NUM": "numeric value"}}))
    (d / "README.md").write_text("---\nhub_id: trec\nlicense: unknown\ntask_categories:\n"
                                 "- text-classification\n---\n# TREC questions\nQuestion "
                                 "classification by expected answer type.\n")
    return d


class FakeLLM:
    """Same two methods as tools.llm.LLMClient; returns a scripted mapping or raises."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    def structured(self, messages, schema, purpose=""):
        self.calls.append((purpose, messages))
        if self.error:
            raise self.error
        return schema(**self.answer)

    def chat(self, messages, purpose="", **kw):
        return ""


def _cand(path) -> Candidate:
    return Candidate(kind="dataset", id="trec", reachable=True, location=str(path))


def test_catalog_record_reads_card_and_mirrors_hub_id(trec_like):
    records, notes = scan_catalogs([trec_like.parent])
    assert notes == []
    (rec,) = records
    assert rec["id"] == "trec" and rec["hub_id"] == "trec" and rec["path"] == str(trec_like)
    assert rec["tasks"] == ["text-classification"] and "answer type" in rec["description"]


def test_splits_from_files_and_folders(trec_like):
    content = load_local(trec_like)
    assert set(content.splits) == {"train", "test"}
    assert content.label_names["*"] == CODES


def test_fit_maps_label_ids_and_descriptions_to_spec_labels(trec_like):
    spec = TaskSpec(instruction="Classify questions by answer type", kind="classification",
                    labels=["location", "numeric", "human", "abbreviation"])
    fit = fit_dataset(spec, _cand(trec_like))
    assert fit.rejected is None
    assert fit.candidate.column_mapping == {"input": "text", "output": "coarse_label"}
    assert fit.candidate.split == "train"
    assert fit.label_map["LOC"] == "location" and fit.label_map["NUM"] == "numeric"
    assert len(fit.preview) == 5
    first = fit.preview[0]
    assert (first.input, first.output) == ("How far is it from Denver to Aspen ?", "numeric")
    assert first.source == "retrieved:trec@default/train/0"
    rows = load_examples(spec, fit.candidate, cap=7)
    assert len(rows) == 7 and all(r.output in spec.labels for r in rows)
    test_rows = load_examples(spec, fit.candidate, splits=["test"])
    assert {r.split for r in test_rows} == {"test"}


def test_label_mismatch_is_rejected_with_reason(trec_like):
    spec = TaskSpec(instruction="Sentiment", kind="classification", labels=["positive", "negative"])
    fit = fit_dataset(spec, _cand(trec_like))
    assert fit.rejected and "labels don't overlap" in fit.rejected and "positive" in fit.rejected


def test_llm_mapping_used_when_valid_and_checked_when_not(trec_like):
    spec = TaskSpec(instruction="Classify questions", kind="classification")
    good = FakeLLM({"input": "text", "output": "coarse_label"})
    assert fit_dataset(spec, _cand(trec_like), client=good).rejected is None
    assert good.calls and good.calls[0][0] == "column_mapping"
    bad = FakeLLM({"input": "question_text", "output": "coarse_label"})
    fit = fit_dataset(spec, _cand(trec_like), client=bad)
    assert fit.rejected is None and fit.candidate.column_mapping["input"] == "text"
    assert any("LLM column mapping rejected" in n for n in fit.notes)
    broken = FakeLLM(error=RuntimeError("parse failed"))
    fit = fit_dataset(spec, _cand(trec_like), client=broken)
    assert fit.rejected is None and any("failed" in n for n in fit.notes)


def test_columns_that_dont_fit_are_rejected(tmp_path):
    f = tmp_path / "nums.csv"
    f.write_text("a,b\n1,2\n3,4\n")
    spec = TaskSpec(instruction="Summarize articles", kind="generation")
    fit = fit_dataset(spec, user_file_candidate(str(f)))
    assert fit.rejected and "columns don't fit" in fit.rejected


def test_user_file_csv_and_extraction_mapping(tmp_path):
    f = tmp_path / "qa.csv"
    f.write_text("context,question,answer\nParis is in France.,Where is Paris?,France\n"
                 "Ice is cold.,What is cold?,Ice\n")
    spec = TaskSpec(instruction="Answer from the context", kind="extraction")
    fit = fit_dataset(spec, user_file_candidate(str(f)))
    assert fit.rejected is None
    assert fit.candidate.column_mapping == {"input": "context,question", "output": "answer"}
    assert fit.preview[0].input == "Context: Paris is in France.\nQuestion: Where is Paris?"
    assert fit.preview[0].source == "user"


def test_unreadable_files_are_skipped_with_note(tmp_path):
    d = tmp_path / "cat" / "mixed"
    _write_jsonl(d / "train.jsonl", [{"text": "good row", "label": "a"}] * 3)
    (d / "validation.parquet").write_bytes(b"not a parquet file at all")
    (d / "test.jsonl").write_text("{broken json\n")
    content = load_local(d)
    assert set(content.splits) == {"train"}
    assert len(content.notes) == 2 and any("validation.parquet" in n for n in content.notes)
    (tmp_path / "cat" / "empty").mkdir()
    records, notes = scan_catalogs([tmp_path / "cat", tmp_path / "missing"])
    assert [r["id"] for r in records] == ["mixed"]
    assert any("no parquet" in n for n in notes) and any("not a folder" in n for n in notes)
    bad = tmp_path / "only_bad"
    bad.mkdir()
    (bad / "x.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ContentUnavailable, match="no readable rows"):
        load_local(bad)


def test_parquet_and_hub_only_offline(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = tmp_path / "pq"
    d.mkdir()
    pq.write_table(pa.table({"sentence": ["great film", "awful film"], "label": [1, 0]}),
                   d / "train.parquet")
    spec = TaskSpec(instruction="Sentiment of reviews", kind="classification")
    fit = fit_dataset(spec, Candidate(kind="dataset", id="pq", reachable=True, location=str(d)))
    assert fit.rejected is None and fit.candidate.column_mapping["input"] == "sentence"
    hub_only = Candidate(kind="dataset", id="imdb", reachable=False, location="imdb")
    assert "not reachable" in fit_dataset(spec, hub_only).rejected
    cand = hub_only.model_copy(update={"reachable": True})
    fit = fit_dataset(spec, cand, settings=Settings(offline=True))
    assert fit.rejected and "offline" in fit.rejected


def test_heuristic_uses_names_then_value_shapes():
    rows = [{"id": str(i), "review": f"place number {i} was nice", "stars": str(i % 2)}
            for i in range(20)]
    m = heuristic_mapping(["id", "review", "stars"], rows, "classification")
    assert m == {"input": "review", "output": "stars"}  # fewest distinct values is the label
    rows = [{"sentence": "a b", "label": 1}]
    assert heuristic_mapping(["sentence", "label"], rows, "classification") == {
        "input": "sentence", "output": "label"}
