"""Pins the exact text of every prompt the agent sends (agent/prompts.py).

Editing a prompt must be deliberate: it changes every cached call it renders,
and the graph tests key the fake model by these same literal strings.
"""

from __future__ import annotations

from agent import prompts

SPEC = {"instruction": "Classify support tickets as billing, technical or other.",
        "kind": "classification", "labels": ["billing", "technical", "other"],
        "input_format": "a support ticket", "output_format": "one label", "target": None,
        "demonstrations": [{"input": "I was charged twice", "output": "billing"}], "version": 1}
SHOWN = ('{"instruction": "Classify support tickets as billing, technical or other.", '
         '"kind": "classification", "labels": ["billing", "technical", "other"], '
         '"input_format": "a support ticket", "output_format": "one label", "examples": 1}')


def test_intake_prompt_text():
    assert prompts.intake_messages("Sort tickets. 'refund please' -> billing") == [
        ("system", "You turn a task description into a task specification. kind is "
                   "classification (pick one label), extraction (copy an answer from the input) "
                   "or generation (write new text). labels: only for classification, exactly as "
                   "the user wrote them. input_format and output_format: a few words each."),
        ("user", "Task description:\nSort tickets. 'refund please' -> billing")]


CLARIFY_SYSTEM = ("You check a task specification before a model is trained for it. If one "
                  "thing is missing or ambiguous and a wrong guess would waste the training, ask "
                  "ONE short question about it. Never ask about anything the specification "
                  "already states. Otherwise answer proceed.")


def test_clarify_prompt_text():
    assert prompts.clarify_messages(SPEC, []) == [
        ("system", CLARIFY_SYSTEM), ("user", "Specification:\n" + SHOWN)]


def test_clarify_prompt_lists_what_was_already_asked_and_answered():
    msgs = prompts.clarify_messages(SPEC, ["Which labels? -> billing, other",
                                           "Is spam 'other'? -> yes"])
    assert msgs[-1] == ("user", "Specification:\n" + SHOWN + "\nAlready asked and answered:\n"
                                "- Which labels? -> billing, other\n- Is spam 'other'? -> yes")


def test_answer_prompt_text():
    assert prompts.answer_messages("Why this model?", {"round": 1, "base_model": "m"}) == [
        ("system", "You are the assistant of a tool that trains a small model for the user's "
                   "task. Answer the user's question in at most three sentences using only the "
                   "session facts given. If the facts don't say, say you don't know yet."),
        ("user", 'Session facts:\n{"round": 1, "base_model": "m"}\n\nQuestion: Why this model?')]


def test_edit_prompt_text():
    assert prompts.edit_messages(SPEC, "rename other to misc") == [
        ("system", "The user wants to change a task specification. Return only the fields they "
                   "want changed; leave the others empty."),
        ("user", 'Specification: {"instruction": "Classify support tickets as billing, technical '
                 'or other.", "labels": ["billing", "technical", "other"], "target": null}\n'
                 "Change: rename other to misc")]
