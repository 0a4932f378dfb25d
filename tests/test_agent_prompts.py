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
                   "classification (pick one label; sorting, routing or tagging items into groups "
                   "is classification), extraction (copy an answer from the input) or generation "
                   "(write new text). labels: only for classification, only the ones the "
                   "description names, exactly as written; none if it names none. input_format "
                   "and output_format: a few words each, describing the text itself (not a file "
                   "format unless the description names one). language: the language of the "
                   "inputs if the description says it."),
        ("user", "Task description:\nSort tickets. 'refund please' -> billing")]


CLARIFY_SYSTEM = ("You check a task specification before a model is trained for it, like a "
                  "careful analyst. If one thing is missing or ambiguous and a wrong guess would "
                  "waste the training, ask ONE short question about it and name the gap: "
                  "labels_unknown, labels_exemplified (only examples of the labels are given), "
                  "label_boundaries (two labels could be confused), no_examples, contradiction, "
                  "output_undefined, or other. Never ask about anything the specification already "
                  "states. Otherwise answer proceed.")


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


def test_clarify_prompt_shows_what_the_checks_found():
    msgs = prompts.clarify_messages(SPEC, [], ["no_examples: Could you give examples?"])
    assert msgs[-1] == ("user", "Specification:\n" + SHOWN + "\nChecks found:\n"
                                "- no_examples: Could you give examples?")


def test_edit_prompt_text():
    assert prompts.edit_messages(SPEC, "rename other to misc", "Approve?") == [
        ("system", "The user replies to an assistant that is setting up a task for them. Fill "
                   "only the fields the reply asks to change and leave the others empty: labels "
                   "(the complete list when the reply gives the labels), add_labels, drop_labels, "
                   "target (a score between 0 and 1), language (of the inputs), instruction (a "
                   "new task description), data_file (a file the user wants to train on)."),
        ("user", 'Specification: {"instruction": "Classify support tickets as billing, technical '
                 'or other.", "kind": "classification", "labels": ["billing", "technical", '
                 '"other"], "target": null}\nAssistant asked: Approve?\nReply: rename other to misc')]
