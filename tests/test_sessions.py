"""Sessions: start, reply, resume and inspect a conversation over the SQLite checkpointer."""

import pytest

from agent.context import AgentContext, Sizes
from agent.sessions import Sessions, Turn
from tests.fakes.chat import FakeChatModel
from tests.fakes.graph_script import PROCEED, TICKETS, Script, intake_fake, make
from tools.settings import Settings


@pytest.mark.parametrize("node", ["find_data", "find_model", "generate", "train", "evaluate", "export"])
def test_resume_after_a_crash_repeats_no_llm_call(tmp_path, node):
    fake = intake_fake()
    script = Script(scores=[0.9], crash_at=node)
    sessions, ctx = make(tmp_path, fake, script, autopilot=True)
    with pytest.raises(RuntimeError, match="simulated crash"):
        sessions.start(TICKETS, ctx, session_id="s1")
    calls_before = len(fake.calls)
    # a new process: new Sessions over the same files, new context
    sessions2, ctx2 = make(tmp_path, fake, script, autopilot=True)
    turn = sessions2.resume("s1", ctx2)
    assert turn.done and turn.state["export_path"]
    assert len(fake.calls) == calls_before  # intake's call was not repeated
    done_before = script.calls[:script.calls.index(node)]
    assert all(script.calls.count(n) == 1 for n in done_before)  # finished steps ran once


def test_resume_of_a_run_that_ended_without_an_outcome_decides_again(tmp_path):
    from langgraph.types import Command

    script = Script(scores=[0.9])
    lost = {**script.overrides(), "decide": lambda state, runtime: Command(goto="__end__")}
    settings = Settings(home=tmp_path / "home")
    ctx = AgentContext.create(settings, chat_model=intake_fake(), autopilot=True, sizes=Sizes.tiny())
    turn = Sessions(settings, overrides=lost).start(TICKETS, ctx, session_id="s2")
    assert turn.done and not turn.state.get("export_path")  # as if decide's branch was lost
    sessions2, ctx2 = make(tmp_path, intake_fake(), script, autopilot=True)
    turn = sessions2.resume("s2", ctx2)
    assert turn.done and turn.state["export_path"] == "/exports/x"
    assert turn.state["decisions"][-1]["action"] == "export"



def test_a_session_survives_a_new_process_and_its_status_is_mirrored_in_the_store(tmp_path):
    fake = intake_fake()
    fake.queue.append(PROCEED)
    sessions, ctx = make(tmp_path, fake, Script())
    turn = sessions.start(TICKETS, ctx, session_id="s3")
    assert turn.interrupt["kind"] == "confirm_spec"
    status = "SELECT status FROM sessions WHERE id = 's3'"
    assert ctx.store.query(status) == [{"status": "waiting"}]
    sessions2, ctx2 = make(tmp_path, fake, Script())
    assert sessions2.exists("s3") and sessions2.state("s3").interrupt["kind"] == "confirm_spec"
    turn = sessions2.reply("s3", "yes", ctx2)
    assert turn.done and ctx2.store.query(status) == [{"status": "done"}]


def test_a_run_that_stops_with_an_error_is_marked_stopped(tmp_path):
    sessions, ctx = make(tmp_path, FakeChatModel(), Script(), autopilot=True)
    turn = sessions.start("   ", ctx, session_id="s4")
    assert turn.done and turn.state["error"] == "empty_description"
    assert ctx.store.query("SELECT status FROM sessions WHERE id = 's4'") == [{"status": "stopped"}]


def test_unknown_and_invalid_sessions_get_clear_errors(tmp_path):
    sessions, ctx = make(tmp_path, FakeChatModel(), Script())
    with pytest.raises(KeyError, match="p2m sessions list"):
        sessions.reply("nope", "yes", ctx)
    with pytest.raises(KeyError, match="No session 'nope'"):
        sessions.resume("nope", ctx)
    with pytest.raises(ValueError, match="is not valid"):
        sessions.start(TICKETS, ctx, session_id="../etc")
    assert not sessions.exists("nope")


def test_a_resumed_session_keeps_the_sizes_it_started_with(tmp_path):
    fake = intake_fake()
    fake.queue.append(PROCEED)
    sessions, ctx = make(tmp_path, fake, Script())
    sessions.start(TICKETS, ctx, session_id="s5")
    settings = Settings(home=tmp_path / "home")
    ctx2 = AgentContext.create(settings, chat_model=fake, sizes=Sizes())  # default sizes
    Sessions(settings, overrides=Script().overrides()).reply("s5", "yes", ctx2)
    assert ctx2.sizes == Sizes.tiny()


def test_turn_message_puts_the_answer_note_before_the_pending_question():
    turn = Turn(session_id="s", state={}, interrupt={"message": "Approve?", "note": "It is 3 labels."})
    assert turn.message == "It is 3 labels.\n\nApprove?"
    done = Turn(session_id="s", state={"messages": [{"role": "assistant", "content": "Done."},
                                                    {"role": "user", "content": "thanks"}]})
    assert done.message == "Done."
