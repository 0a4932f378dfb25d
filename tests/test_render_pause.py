"""The front-end neutral view of each pause, and clicks turned back into the typed reply."""

from __future__ import annotations

import pytest

from agent.nodes.verify import parse_verdicts
from tools.contracts import Example
from ui import render as R
from ui.render_pause import WRONG, Choice, Row, diff_block, hint_line, pause_view, verdict_reply

LABELS = ["billing", "technical", "other"]
ITEMS = [{"i": 1, "input": "I was charged twice", "label": "billing"},
         {"i": 2, "input": "The app  crashes\non start", "label": "technical"},
         {"i": 3, "input": "Where is my refund?", "label": "other"},
         {"i": 4, "input": "Hello", "label": "billing"}]
VERIFY = {"kind": "verify_labels", "labels": LABELS, "items": ITEMS, "options": ["all correct", "skip"],
          "message": "Are these labels right? They are the teacher's.\n1. I was charged twice -> **billing**"
                     "\n\nReply 'all correct', corrections like '3: billing; 5: other', '2 wrong', or 'skip'."}


def test_no_pause_no_view():
    assert pause_view(None) is None and hint_line(None) == "" and R.reply_options(None) == []


def test_confirm_spec_shows_the_diff_as_a_block_and_approve_or_edit():
    msg = ("Changes:\n- labels: billing, other -> billing, technical, other\nIgnored: file 'x.csv' (not found)"
           "\n\n**Task** (v2): Classify tickets\n\nApprove? (yes, or say what to change)")
    view = pause_view({"kind": "confirm_spec", "message": msg, "note": "It has 3 labels.",
                       "diff": ["labels: billing, other -> billing, technical, other", "refused metric: bleu"]})
    assert view.body == ("It has 3 labels.\n\n```diff\n- labels: billing, other\n"
                         "+ labels: billing, technical, other\n! refused metric: bleu\n```\n\n"
                         "Ignored: file 'x.csv' (not found)\n\n**Task** (v2): Classify tickets\n\n"
                         "Approve? (yes, or say what to change)")
    assert view.text == "It has 3 labels.\n\n" + msg  # the terminal prints the message as it is
    assert view.choices == [Choice("Approve", "yes"), Choice("Edit", "change ", send=False)]
    assert hint_line(view) == "Reply: yes (Approve); or say what to change"
    assert R.reply_options({"kind": "confirm_spec", "message": "Approve?"}) == [("Approve", "yes")]
    assert diff_block([]) == ""
    assert diff_block(["training data: + a.csv"]) == "```diff\n+ training data: a.csv\n```"


def test_a_question_offers_its_suggested_answers_and_the_defaults_unless_blocking():
    view = pause_view({"kind": "question", "message": "You named billing as examples. What is the full list?",
                       "gap": "labels_exemplified", "options": ["take the labels from the data", "only these 2"]})
    assert [(c.label, c.reply) for c in view.choices] == [
        ("take the labels from the data", "take the labels from the data"), ("only these 2", "only these 2"),
        ("Use defaults", "default")]
    assert hint_line(view) == ("Reply: take the labels from the data | only these 2 | default (Use defaults); "
                               "or type your answer")
    # no labels at all: there is no default to go on with
    blocking = pause_view({"kind": "question", "message": "Which labels?", "gap": "labels_unknown", "options": []})
    assert blocking.choices == [] and hint_line(blocking) == "Reply: type your answer"


def test_the_defaults_reply_is_an_approval_the_agent_reads_as_no_edit():
    from agent.human import is_approval

    assert is_approval(pause_view({"kind": "question", "gap": "no_examples"}).choices[-1].reply)


def test_picks_of_data_and_model_and_the_label_offer():
    data = pause_view({"kind": "pick_data", "message": "Datasets I found", "options": ["ag_news", "trec"]})
    assert [(c.label, c.reply) for c in data.choices] == [("1: ag_news", "1"), ("2: trec", "2"),
                                                          ("None (synthetic only)", "none")]
    model = pause_view({"kind": "pick_model", "message": "Base models:\n1. a (bert)",
                        "options": ["minilm", "smollm2"]})
    assert [(c.label, c.reply) for c in model.choices] == [("1: minilm", "1"), ("2: smollm2", "2")]
    # a session checkpointed before payloads carried options: the numbered list is read
    old = pause_view({"kind": "pick_model",
                      "message": "Base models:\n1. smollm2-135m (llama, 135M)\n2. minilm (bert)"})
    assert [c.label for c in old.choices] == ["1: smollm2-135m", "2: minilm"]
    offer = pause_view({"kind": "adopt_labels", "message": "ag_news has 4 labels",
                        "options": ["use all 4", "keep my 2"]})
    assert [(c.label, c.reply) for c in offer.choices] == [("use all 4", "use all 4"), ("keep my 2", "keep my 2")]


def test_verify_labels_has_a_row_per_item_with_the_teacher_label_marked():
    view = pause_view(VERIFY)
    assert view.body == "Are these labels right? They are the teacher's."  # the rows are native
    assert [(r.i, r.label) for r in view.rows] == [(1, "billing"), (2, "technical"), (3, "other"), (4, "billing")]
    assert view.rows[1].options() == [("technical (teacher)", "technical"), ("billing", "billing"),
                                      ("other", "other"), ("wrong", WRONG)]
    assert [c.reply for c in view.choices] == ["all correct", "skip"]
    assert "Reply: All correct | Skip; or corrections like" in hint_line(view)


@pytest.mark.parametrize("picks, expected_reply, expected_rows", [
    ({}, "all correct", [("billing", False), ("technical", False), ("other", False), ("billing", False)]),
    ([None, "other", "other", WRONG], "2: other; 4 wrong",
     [("billing", False), ("other", True), ("other", False)]),
    ({1: "technical", 3: "billing"}, "1: technical; 3: billing",
     [("technical", True), ("technical", False), ("billing", True), ("billing", False)]),
])
def test_verdict_reply_round_trips_through_the_agents_parser(picks, expected_reply, expected_rows):
    view = pause_view(VERIFY)
    reply = verdict_reply(view.rows, picks)
    assert reply == expected_reply
    shown = [Example(input=it["input"], output=it["label"], split="test", source="synthetic:1") for it in ITEMS]
    rows, problems = parse_verdicts(reply, shown, LABELS)
    assert [(r.output, r.params["corrected"]) for r in rows] == expected_rows and problems == []


def test_a_label_the_parser_cannot_read_is_sent_as_wrong_not_garbled():
    rows = [Row(1, "x", "a", ("a", "b, c"))]
    assert verdict_reply(rows, ["b, c"]) == "1 wrong"


def test_a_label_ending_in_a_question_mark_is_not_taken_for_a_question():
    from agent.human import is_question

    rows = [Row(1, "x", "a", ("a", "unsure?"))]
    reply = verdict_reply(rows, ["unsure?"])
    shown = [Example(input="x", output="a", split="test", source="synthetic:1")]
    assert not is_question(reply) and parse_verdicts(reply, shown, ["a", "unsure?"])[0][0].output == "unsure?"


def test_the_web_chat_shows_the_pause_as_its_view_without_repeating_it():
    state = {"messages": [{"role": "user", "content": "task"}]}
    msgs = R.chat_messages(state, VERIFY)
    assert msgs[-1] == {"role": "assistant", "content": "Are these labels right? They are the teacher's."}
    state["messages"].append({"role": "assistant", "content": VERIFY["message"]})
    assert len(R.chat_messages(state, VERIFY)) == 2


def test_the_terminal_prints_the_choices_as_a_hint_line_under_the_pause(monkeypatch):
    import typer

    from ui import cli_agent

    class Turn:
        interrupt = {"kind": "pick_data", "message": "Datasets I found: ...", "options": ["ag_news"]}
        message = interrupt["message"]
        session_id = "s1"

    def no_input(*a, **k):  # the user closes the terminal at the prompt
        raise EOFError

    monkeypatch.setattr(cli_agent.typer, "prompt", no_input)
    with cli_agent.console.capture() as cap, pytest.raises(typer.Exit):
        cli_agent._converse(None, Turn, None)
    assert "Reply: 1: ag_news | None (synthetic only); or several numbers, e.g. '1,2'" in cap.get()
