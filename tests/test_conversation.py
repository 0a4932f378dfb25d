"""A scripted set of descriptions through the real conversation nodes.

Each case: a description, what the (fake) model proposes at intake, the replies
the user types, and, for every pause, the exact question asked (or that none
was); then the resulting spec. The fake model is keyed by the agent's prompts,
whose text is pinned in tests/test_agent_prompts.py; clarify decisions the model
is asked for come from a queue. The data plane is scripted (tests/fakes/graph_script.py).
"""

from __future__ import annotations

import json

import pytest

from agent.prompts import intake_messages
from tests.fakes.chat import FakeChatModel
from tests.fakes.graph_script import Script, make

PROCEED = json.dumps({"action": "proceed", "gap": "", "question": ""})
EMAILS = "I want to sort our customer emails so the right team gets them"
LABELS_Q = "Which labels should the model choose from? List them (for example: billing, technical, other)."
TEAMS_Q = "Which teams should the model choose from? List them (for example: billing, technical, other)."


def proposal(kind="classification", labels=(), input_format="", output_format="", language=""):
    return json.dumps({"kind": kind, "labels": list(labels), "input_format": input_format,
                       "output_format": output_format, "language": language})


def converse(tmp_path, description, intake_reply, replies, queue=(), autopilot=False, embedded=False):
    """Run the conversation; returns (pauses [(kind, message)], final turn, fake).
    `embedded`: the fake stands in for the embedded default teacher (Qwen 1.5B)."""
    fake = FakeChatModel(responses={intake_messages(description)[-1][1]: intake_reply},
                         queue=list(queue))
    sessions, ctx = make(tmp_path, fake, Script(), autopilot=autopilot)
    if embedded:
        from tools.llm.factory import Endpoint

        ctx.client._endpoint = Endpoint("injected://", "qwen2.5-coder-1.5b-instruct", embedded=True)
    turn = sessions.start(description, ctx)
    pauses = []
    for reply in replies:
        assert turn.interrupt is not None, f"no pause left for reply {reply!r}: {turn.message}"
        pauses.append((turn.interrupt["kind"], turn.interrupt["message"]))
        turn = sessions.reply(turn.session_id, reply, ctx)
    return pauses, turn, fake


def questions(pauses):
    return [m for k, m in pauses if k == "question"]


# -- vague tasks get a question, and a plain-language answer is understood ------------------
def test_email_routing_asks_for_the_teams_and_reads_the_plain_answer(tmp_path):
    pauses, turn, _ = converse(tmp_path, EMAILS, proposal(input_format="a customer email"),
                               ["the teams are billing, tech support and sales"])
    assert questions(pauses) == [TEAMS_Q]
    spec = turn.state["spec"]
    assert turn.interrupt["kind"] == "confirm_spec"
    assert (spec["kind"], spec["labels"], spec["metric"]) == (
        "classification", ["billing", "tech support", "sales"], "accuracy")
    assert (spec["input_format"], spec["output_format"]) == ("a customer email", "one label")
    assert turn.interrupt["diff"] == ["labels: (none) -> billing, tech support, sales"]


def test_a_model_that_reads_routing_as_json_generation_is_overruled(tmp_path):
    pauses, turn, _ = converse(tmp_path, EMAILS, proposal("generation", input_format="json",
                                                           output_format="json"),
                               ["billing, tech support, sales"])
    assert questions(pauses) == [TEAMS_Q]
    spec = turn.state["spec"]
    assert (spec["kind"], spec["metric"], spec["input_format"], spec["output_format"]) == (
        "classification", "accuracy", "text", "one label")
    assert any("kept kind classification" in n for n in turn.state["parse_notes"])


def test_classification_without_labels_asks_for_them(tmp_path):
    d = "Classify support tickets by what they are about."
    pauses, turn, _ = converse(tmp_path, d, proposal(), ["billing, technical, other"])
    assert questions(pauses) == [LABELS_Q]
    assert turn.state["spec"]["labels"] == ["billing", "technical", "other"]


def test_a_description_too_vague_to_act_on_asks_what_to_do(tmp_path):
    pauses, turn, _ = converse(tmp_path, "hi there", proposal("generation"),
                               ["Classify reviews as positive or negative. 'great film' -> positive"])
    assert questions(pauses) == ["What should the model do? Describe the task in a sentence and "
                                 "give two or three examples like 'input' -> output."]
    spec = turn.state["spec"]
    assert spec["kind"] == "classification" and spec["labels"] == ["positive", "negative"]


def test_generation_with_an_undefined_output_asks_for_examples(tmp_path):
    d = "Write a reply to each customer review."
    pauses, turn, _ = converse(tmp_path, d, proposal("generation"),
                               ["'the food was cold' -> We are sorry your food was cold, please come back."])
    assert questions(pauses) == ["What should the output look like? Give one or two examples like "
                                 "'input' -> output."]
    assert [x["input"] for x in turn.state["spec"]["demonstrations"]] == ["the food was cold"]


# -- labels that are only examples, or a count that doesn't match -----------------------------
def test_exemplified_labels_ask_for_the_full_list_or_the_data(tmp_path):
    d = ("Classify each banking query into one of our 77 intent names, for example card_arrival, "
         "exchange_rate, pin_blocked. 'my card has not arrived' -> card_arrival")
    pauses, turn, _ = converse(tmp_path, d, proposal(labels=["card_arrival"]),
                               ["take the intents from the data"])
    assert questions(pauses) == [
        "You named card_arrival, exchange_rate, pin_blocked as examples of 77 intents. What is "
        "the full list? If a file or dataset holds them, say so and I will take the labels from "
        "the data."]
    spec = turn.state["spec"]
    assert spec["labels_exemplified"] and spec["label_count"] == 77  # find_data adopts the data's set


def test_such_as_labels_can_be_confirmed_as_the_whole_set(tmp_path):
    d = "Route messages to a department such as sales, support or legal."
    pauses, turn, _ = converse(tmp_path, d, proposal(), ["only these"])
    assert len(questions(pauses)) == 1 and "as examples of more departments" in questions(pauses)[0]
    spec = turn.state["spec"]
    assert spec["labels"] == ["sales", "support", "legal"] and not spec["labels_exemplified"]


def test_a_stated_count_that_does_not_match_the_labels_is_raised(tmp_path):
    d = "Sort feedback into 4 categories: bug, feature, praise."
    pauses, turn, _ = converse(tmp_path, d, proposal(), ["bug, feature, praise, question"])
    assert questions(pauses)[0].startswith("You named bug, feature, praise as examples of 4 categories.")
    assert turn.state["spec"]["labels"] == ["bug", "feature", "praise", "question"]


def test_exemplified_labels_on_autopilot_go_on_without_a_question(tmp_path):
    d = "Route messages to a department such as sales, support or legal."
    _, turn, _ = converse(tmp_path, d, proposal(), [], autopilot=True)
    assert turn.done and turn.state["spec"]["labels_exemplified"]


# -- contradictions and the model's own questions ---------------------------------------------
def test_a_contradiction_is_asked_about_and_the_answer_joins_the_instruction(tmp_path):
    d = "Classify the reviews as positive or negative, and also give a score from 1 to 10."
    pauses, turn, _ = converse(tmp_path, d, proposal(labels=["positive", "negative"]),
                               ["only the label"])
    assert questions(pauses) == ["You ask for a label and also for a score or an explanation. "
                                 "Should the model output only the label, or only the other?"]
    assert turn.state["spec"]["instruction"].endswith("only the label")


def test_a_complete_spec_gets_no_question(tmp_path):
    d = "Classify sentences as formal or informal. 'hey wassup' -> informal; 'Dear Sir' -> formal"
    pauses, turn, fake = converse(tmp_path, d, proposal(labels=["formal", "informal"]), [],
                                  queue=[PROCEED])
    assert turn.interrupt["kind"] == "confirm_spec" and not pauses
    assert any(c["messages"][0][1].startswith("You check a task specification") for c in fake.calls)


def test_the_models_question_about_label_boundaries_is_asked(tmp_path):
    d = "Classify sentences as formal or informal. 'hey wassup' -> informal; 'Dear Sir' -> formal"
    ask = json.dumps({"action": "ask", "gap": "label_boundaries",
                      "question": "Does slang in a work email count as informal?"})
    pauses, turn, _ = converse(tmp_path, d, proposal(labels=["formal", "informal"]),
                               ["yes, slang is always informal"], queue=[ask, PROCEED])
    assert questions(pauses) == ["Does slang in a work email count as informal?"]
    assert turn.state["spec"]["instruction"].endswith("yes, slang is always informal")
    assert turn.interrupt["kind"] == "confirm_spec"


def test_the_embedded_models_untyped_question_is_not_asked_but_an_endpoints_is(tmp_path):
    d = "Classify product reviews as positive or negative. 'Broke after a day' -> negative"
    ask = json.dumps({"action": "ask", "gap": "other",
                      "question": "What is the purpose of the 'examples' field in the specification?"})
    pauses, turn, _ = converse(tmp_path / "e", d, proposal(labels=["positive", "negative"]), [],
                               queue=[ask], embedded=True)
    assert not pauses and turn.interrupt["kind"] == "confirm_spec"
    pauses, _, _ = converse(tmp_path / "r", d, proposal(labels=["positive", "negative"]), ["no"],
                            queue=[ask, PROCEED])
    assert questions(pauses) == ["What is the purpose of the 'examples' field in the specification?"]


def test_a_model_question_about_what_the_spec_states_is_not_asked(tmp_path):
    d = "Classify sentences as formal or informal. 'hey wassup' -> informal; 'Dear Sir' -> formal"
    ask = json.dumps({"action": "ask", "gap": "labels_unknown", "question": "Which labels?"})
    pauses, turn, _ = converse(tmp_path, d, proposal(labels=["formal", "informal"]), [], queue=[ask])
    assert not pauses and turn.interrupt["kind"] == "confirm_spec"


def test_at_most_three_questions_then_defaults(tmp_path):
    d = "Classify sentences as formal or informal. 'hey wassup' -> informal"
    asks = [json.dumps({"action": "ask", "gap": g, "question": f"Question {i}?"})
            for i, g in enumerate(["label_boundaries", "contradiction", "labels_exemplified", "no_examples"], 1)]
    pauses, turn, _ = converse(tmp_path, d, proposal(labels=["formal", "informal"]),
                               ["a", "b", "c"], queue=asks)
    assert questions(pauses) == ["Question 1?", "Question 2?", "Question 3?"]
    assert turn.interrupt["kind"] == "confirm_spec"


# -- non-English ------------------------------------------------------------------------------
def test_german_description_keeps_its_labels_and_language(tmp_path):
    d = ("Klassifiziere Kundenanfragen als Rechnung, Technik oder Sonstiges. "
         "'Ich wurde doppelt belastet' -> Rechnung")
    pauses, turn, _ = converse(tmp_path, d, proposal(labels=["Rechnung", "Technik", "Sonstiges"],
                                                     language="German"), [], queue=[PROCEED])
    spec = turn.state["spec"]
    assert not pauses and spec["labels"] == ["Rechnung", "Technik", "Sonstiges"]
    assert spec["constraints"]["language"] == "de"


def test_japanese_description_takes_the_models_labels_found_in_the_text(tmp_path):
    d = "次の文を肯定か否定に分類してください。'最高の映画' -> 肯定"
    pauses, turn, _ = converse(tmp_path, d, proposal(labels=["肯定", "否定"], language="Japanese"), [],
                               queue=[PROCEED])
    spec = turn.state["spec"]
    assert spec["kind"] == "classification" and set(spec["labels"]) == {"肯定", "否定"}
    assert spec["constraints"]["language"] == "ja"


# -- plain-language edits at the approval, shown as a diff --------------------------------------
TICKETS = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"


def test_plain_language_edits_at_the_approval_each_shown_as_a_diff(tmp_path):
    pauses, turn, _ = converse(tmp_path, TICKETS, proposal(labels=["billing", "technical", "other"]),
                               ["drop other", "aim for 90%", "it's in German", "add refunds"],
                               queue=[PROCEED])
    assert [k for k, _ in pauses] == ["confirm_spec"] * 4
    assert pauses[1][1].startswith("Changes:\n- labels: billing, technical, other -> billing, technical")
    assert pauses[2][1].startswith("Changes:\n- target: (none) -> 0.9")
    assert pauses[3][1].startswith("Changes:\n- language: en -> de")
    spec = turn.state["spec"]
    assert spec["labels"] == ["billing", "technical", "refunds"] and spec["target"] == 0.9
    assert spec["constraints"]["language"] == "de" and turn.interrupt["diff"][0].startswith("labels:")


def test_rigid_forms_still_work_and_labels_look_good_is_an_approval(tmp_path):
    pauses, turn, _ = converse(tmp_path, TICKETS, proposal(labels=["billing", "technical", "other"]),
                               ["labels: billing, tech, other", "budget: 50 calls", "labels look good, go"],
                               queue=[PROCEED])
    assert turn.state["spec"]["labels"] == ["billing", "tech", "other"]
    assert turn.state["spec"]["budget"]["max_llm_calls"] == 50
    assert turn.done and turn.state["approved"]


def test_use_my_file_adds_the_users_data(tmp_path):
    f = tmp_path / "tickets.csv"
    f.write_text("text,label\nI was charged twice,billing\n")
    pauses, turn, _ = converse(tmp_path, TICKETS, proposal(labels=["billing", "technical", "other"]),
                               [f"use my file {f}"], queue=[PROCEED])
    assert turn.state["data_files"] == [str(f.resolve())]
    assert turn.interrupt["diff"] == [f"training data: + {f.resolve()}"]


def test_a_missing_file_is_said_back_and_nothing_changes(tmp_path):
    _, turn, _ = converse(tmp_path, TICKETS, proposal(labels=["billing", "technical", "other"]),
                          ["use my file nope.csv"], queue=[PROCEED])
    assert "ignored: file 'nope.csv' (not found)" in turn.state["messages"][-1]["content"]
    assert turn.state.get("data_files") in (None, [])


def test_the_models_reading_of_an_edit_is_grounded_in_the_reply(tmp_path):
    edit = json.dumps({"labels": [], "add_labels": ["refunds", "invoices"], "drop_labels": [],
                       "target": None, "language": "", "instruction": "", "data_file": ""})
    _, turn, _ = converse(tmp_path, TICKETS, proposal(labels=["billing", "technical", "other"]),
                          ["please also cover refunds"], queue=[PROCEED, edit])
    assert turn.state["spec"]["labels"] == ["billing", "technical", "other", "refunds"]
    assert "label 'invoices' (not in your reply)" in turn.interrupt["message"]


def test_a_question_at_a_pause_is_answered_and_the_pause_repeats(tmp_path):
    pauses, turn, _ = converse(tmp_path, TICKETS, proposal(labels=["billing", "technical", "other"]),
                               ["what metric will you use?"], queue=[PROCEED])
    assert turn.interrupt["kind"] == "confirm_spec"
    assert turn.interrupt["note"].startswith("The metric is accuracy")


@pytest.mark.parametrize("reply", ["yes", "ok go ahead", "sounds good"])
def test_approvals(tmp_path, reply):
    _, turn, _ = converse(tmp_path, TICKETS, proposal(labels=["billing", "technical", "other"]),
                          [reply], queue=[PROCEED])
    assert turn.done and turn.state["approved"]
