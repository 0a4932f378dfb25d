"""The agent graph with a prompt-keyed fake LLM and a scripted data plane.

The conversation nodes (intake, clarify, confirm_spec, decide) are the real
ones; find_data .. export are replaced by small scripted nodes
(tests/fakes/graph_script.py) so routing, interrupts, loop-back and budget stops
are tested in seconds; crash-resume is in tests/test_sessions.py.
The real data plane runs in tests/test_agent_e2e.py. The fake is keyed by the
prompts as literal text (pinned in tests/test_agent_prompts.py), so editing a
prompt fails these tests instead of following along.
"""

import json

from tests.fakes.chat import FakeChatModel
from tests.fakes.graph_script import (
    CLARIFY_PROMPT,
    PROCEED,
    TICKETS,
    VAGUE,
    VAGUE_PROMPT,
    Script,
    intake_fake,
    make,
)


def test_autopilot_runs_the_whole_loop(tmp_path):
    script = Script(scores=[0.9])
    sessions, ctx = make(tmp_path, intake_fake(), script, autopilot=True)
    turn = sessions.start(TICKETS, ctx)
    assert turn.done and turn.interrupt is None
    assert turn.state["export_path"] == "/exports/x"
    assert turn.state["spec"]["labels"] == ["billing", "technical", "other"]
    assert script.calls == ["find_data", "find_model", "generate", "train", "evaluate", "export"]
    assert turn.state["decisions"][0]["action"] == "export"
    # the session is in the store with its spec
    assert ctx.store.latest_spec(turn.session_id)["labels"] == ["billing", "technical", "other"]


def test_clarify_asks_exactly_one_question_then_proceeds(tmp_path):
    fake = FakeChatModel(responses={
        VAGUE_PROMPT: json.dumps({"kind": "classification", "labels": []})},
        queue=[PROCEED] * 3)
    sessions, ctx = make(tmp_path, fake, Script())
    turn = sessions.start(VAGUE, ctx)
    assert turn.interrupt["kind"] == "question"
    assert "labels" in turn.interrupt["message"].lower()
    turn = sessions.reply(turn.session_id, "billing, technical, other", ctx)
    assert turn.interrupt["kind"] == "confirm_spec"
    assert turn.state["questions_asked"] == 1
    assert turn.state["spec"]["labels"] == ["billing", "technical", "other"]


def test_model_is_asked_for_ambiguities_with_the_pinned_prompt(tmp_path):
    fake = intake_fake()
    sessions, ctx = make(tmp_path, fake, Script())
    fake.queue.append(PROCEED)
    turn = sessions.start(TICKETS, ctx)
    assert turn.interrupt["kind"] == "confirm_spec"
    assert any(c["messages"][-1][1] == CLARIFY_PROMPT for c in fake.calls)


def test_the_clarifier_sees_the_questions_already_asked_and_answered(tmp_path):
    asked = ('Specification:\n{"instruction": "Classify support tickets by what they are about.", '
             '"kind": "classification", "labels": ["billing", "technical", "other"], '
             '"input_format": "text", "output_format": "one label", "examples": 0}\n'
             "Checks found:\n- no_examples: Could you give two or three examples like 'input' -> "
             "output? They make the training data match what you expect.\n"
             "Already asked and answered:\n- Which labels should the model choose from? List them "
             "(for example: billing, technical, other). -> billing, technical, other")
    fake = FakeChatModel(responses={
        VAGUE_PROMPT: json.dumps({"kind": "classification", "labels": []}), asked: PROCEED})
    sessions, ctx = make(tmp_path, fake, Script())
    turn = sessions.start(VAGUE, ctx)
    turn = sessions.reply(turn.session_id, "billing, technical, other", ctx)
    assert turn.interrupt["kind"] == "confirm_spec"
    assert turn.state["answered"] == ["Which labels should the model choose from? List them (for "
                                      "example: billing, technical, other). -> billing, technical, other"]
    assert fake.calls[-1]["messages"][-1][1] == asked


def test_confirm_shows_where_the_spec_came_from(tmp_path):
    fake = intake_fake()
    fake.queue.append(PROCEED)
    sessions, ctx = make(tmp_path, fake, Script())
    turn = sessions.start(TICKETS, ctx)
    assert ("_How I read the description_: read from the text: kind classification, 3 labels, "
            "1 examples; model fake-teacher proposed kind classification") in turn.interrupt["message"]


def test_edit_at_confirm_goes_back_to_confirm(tmp_path):
    fake = intake_fake()
    fake.queue.append(PROCEED)
    script = Script()
    sessions, ctx = make(tmp_path, fake, script)
    turn = sessions.start(TICKETS, ctx)
    turn = sessions.reply(turn.session_id, "labels: billing, bug, refund, other", ctx)
    assert turn.interrupt["kind"] == "confirm_spec"
    assert turn.state["spec"]["labels"] == ["billing", "bug", "refund", "other"]
    assert turn.state["spec"]["version"] == 2
    assert script.calls == []  # nothing ran past the confirmation
    turn = sessions.reply(turn.session_id, "yes", ctx)
    assert turn.done and "find_data" in script.calls


def test_question_at_an_interrupt_is_answered_and_the_pause_repeats(tmp_path):
    fake = intake_fake()
    fake.queue += [PROCEED, "Because tickets vary a lot."]
    sessions, ctx = make(tmp_path, fake, Script())
    turn = sessions.start(TICKETS, ctx)
    turn = sessions.reply(turn.session_id, "Why is this the right approach?", ctx)
    assert turn.interrupt["kind"] == "confirm_spec"
    assert turn.interrupt["note"] == "Because tickets vary a lot."
    calls = len(fake.calls)
    # questions about the session's facts are answered from state, with no model call
    turn = sessions.reply(turn.session_id, "What metric will you use?", ctx)
    assert turn.interrupt["note"].startswith("The metric is accuracy")
    assert len(fake.calls) == calls
    turn = sessions.reply(turn.session_id, "ok", ctx)
    assert turn.done


def test_loop_back_on_a_weak_first_result(tmp_path):
    script = Script(scores=[0.3, 0.95], teacher=0.6)
    sessions, ctx = make(tmp_path, intake_fake(), script, autopilot=True)
    turn = sessions.start(TICKETS, ctx)
    actions = [d["action"] for d in turn.state["decisions"]]
    assert actions == ["generate", "export"]
    assert script.calls.count("generate") == 2 and script.calls.count("train") == 2
    assert "targeted" in turn.state["decisions"][0]["reason"]


def test_budget_stop_exports_the_best_so_far(tmp_path):
    script = Script(scores=[0.3, 0.35, 0.4], teacher=0.9)
    sessions, ctx = make(tmp_path, intake_fake(), script, autopilot=True)
    turn = sessions.start(TICKETS, ctx, budget={"max_rounds": 2})
    decisions = turn.state["decisions"]
    assert len(decisions) == 2 and decisions[-1]["action"] == "export"
    assert "budget spent" in decisions[-1]["reason"]
    assert turn.state["export_path"]


def test_errors_clustered_on_two_labels_ask_the_user(tmp_path):
    fake = intake_fake()
    fake.queue += [PROCEED, PROCEED, PROCEED]
    script = Script(scores=[0.3, 0.95], teacher=0.6)
    sessions, ctx = make(tmp_path, fake, script)
    turn = sessions.start(TICKETS, ctx)
    turn = sessions.reply(turn.session_id, "yes", ctx)
    assert turn.interrupt["kind"] == "question"
    assert "billing -> other" in turn.interrupt["message"]
    turn = sessions.reply(turn.session_id, "Refund requests are billing.", ctx)
    assert turn.interrupt["kind"] == "confirm_spec"
    assert "Refund requests are billing" in turn.state["spec"]["instruction"]
    turn = sessions.reply(turn.session_id, "yes", ctx)
    assert turn.done and script.calls.count("find_data") == 1  # data was not searched again


def test_empty_description_gets_a_clear_reply(tmp_path):
    sessions, ctx = make(tmp_path, FakeChatModel(), Script(), autopilot=True)
    turn = sessions.start("   ", ctx)
    assert turn.done and turn.state["error"] == "empty_description"
    assert "empty" in turn.message


def test_autopilot_without_labels_stops_with_a_reason(tmp_path):
    fake = FakeChatModel(responses={VAGUE_PROMPT: json.dumps(
        {"kind": "classification", "labels": ["invented"]})})
    sessions, ctx = make(tmp_path, fake, Script(), autopilot=True)
    turn = sessions.start(VAGUE, ctx)
    assert turn.done and turn.state["error"] == "no_labels"
    assert "labels" in turn.message


def test_make_it_better_with_no_task_asks_what_to_do_or_stops_on_autopilot(tmp_path):
    fake = FakeChatModel(queue=[json.dumps({"kind": "generation"})] * 2)
    sessions, ctx = make(tmp_path, fake, Script())
    turn = sessions.start("make it better", ctx)
    assert turn.interrupt["kind"] == "question" and "What should the model do" in turn.interrupt["message"]
    sessions2, ctx2 = make(tmp_path / "b", fake, Script(), autopilot=True)
    turn = sessions2.start("make it better", ctx2)
    assert turn.done and turn.state["error"] == "too_vague"
