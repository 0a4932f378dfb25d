"""agent/human.py: telling approvals, questions and edits apart, and answering from state."""

from types import SimpleNamespace

import pytest

from agent.human import (
    answer_from_state,
    answer_question,
    ask_user,
    facts,
    is_approval,
    is_question,
    looks_like_edit,
)

STATE = {"spec": {"metric": "accuracy", "target": None, "labels": ["billing", "other"],
                  "budget": {"max_llm_calls": 50}},
         "chosen_model": {"id": "sentence-transformers/all-MiniLM-L6-v2"},
         "chosen_data": [{"id": "acme/tickets"}], "eval_source": "the real test split of acme",
         "rounds": [{"summary": {"student": 0.8}}], "round": 1, "spent": {"llm_calls": 3}}


@pytest.mark.parametrize("text", ["yes", "OK.", "  go ahead ", "lgtm!", ""])
def test_approvals(text):
    assert is_approval(text)


@pytest.mark.parametrize("text", ["yes but change the labels", "no", "labels: a, b"])
def test_not_approvals(text):
    assert not is_approval(text)


def test_questions_and_edits_are_told_apart():
    assert is_question("Why this model?") and is_question("what metric will you use")
    assert not is_question("what now") and not is_question("billing, other")
    assert looks_like_edit("labels: a, b") and looks_like_edit("Set target to 0.9")
    assert looks_like_edit("budget: 50 calls") and not looks_like_edit("Why this model?")


def test_common_questions_are_answered_from_state():
    assert answer_from_state("Which base model?", STATE) == (
        "The base model is sentence-transformers/all-MiniLM-L6-v2.")
    assert answer_from_state("how will you evaluate it?", STATE) == (
        "The metric is accuracy; target: beat the teacher on held-out data. "
        "Evaluation: the real test split of acme.")
    assert answer_from_state("which dataset?", STATE).startswith("Training data: acme/tickets")
    assert answer_from_state("what does it cost?", STATE).startswith(
        "Budget: {'max_llm_calls': 50}; spent so far: {'llm_calls': 3}")
    assert answer_from_state("Tell me a joke?", STATE) is None


def test_facts_are_what_the_model_may_say():
    f = facts(STATE)
    assert f["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert f["datasets"] == ["acme/tickets"] and f["results"] == [{"student": 0.8}]


def test_the_embedded_model_is_not_asked_open_questions():
    ctx = SimpleNamespace(client=SimpleNamespace(is_embedded=True, embedded_hint=True,
                                                 model_name="smollm2-135m-instruct"))
    assert answer_question("Tell me a joke?", STATE, ctx).startswith("I can answer questions about")


def test_autopilot_takes_the_default_without_pausing():
    ctx = SimpleNamespace(autopilot=True)
    assert ask_user({"kind": "pick_data", "message": "Pick"}, {}, ctx, default="1") == ("1", [])
