"""The web backend over the real graph with a fake LLM: start, pause, reload from the checkpointer."""

from __future__ import annotations

from agent.context import Sizes
from tests.fakes.chat import FakeChatModel
from ui import render as R

TASK = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"
PROPOSAL = '{"kind": "classification", "labels": ["billing", "technical", "other"]}'


def fake_llm() -> FakeChatModel:
    return FakeChatModel(queue=[PROPOSAL] * 20)


def test_start_pauses_at_spec_and_reloads_from_checkpointer(tmp_path):
    from ui.web import WebBackend

    be = WebBackend(chat_model=fake_llm(), sizes=Sizes.tiny())
    events = []
    data = tmp_path / "mine.csv"
    data.write_text("text,label\nI was charged twice,billing\n")
    turn = be.turn(None, TASK, [str(data)], lambda k, p: events.append(k))
    assert turn.interrupt["kind"] == "confirm_spec"
    assert "node" in events
    # the upload was copied under P2M_HOME and passed as data_files
    assert turn.state["data_files"][0].endswith(f"uploads/{turn.session_id}/mine.csv")
    # a new backend (server restart) sees the same conversation
    be2 = WebBackend(chat_model=fake_llm(), sizes=Sizes.tiny())
    again = be2.load(turn.session_id)
    msgs = R.chat_messages(again.state, again.interrupt)
    assert msgs[0] == {"role": "user", "content": TASK}
    assert "Approve?" in msgs[-1]["content"]
    assert [r["id"] for r in be2.list_sessions()] == [turn.session_id]
    assert be2.load("nope") is None


def test_build_app_constructs():
    from ui.web import build_app

    demo = build_app(chat_model=fake_llm(), sizes=Sizes.tiny())
    assert demo.p2m_backend is not None


def test_crashed_run_resumes_with_any_message():
    """A run that died mid-graph shows as mid-run; the next message continues it."""
    import pytest

    from ui.web import WebBackend

    crashed = []

    def find_data(state, runtime):
        if not crashed:
            crashed.append(1)
            raise RuntimeError("simulated crash in find_data")
        return {"chosen_data": []}

    entry = {"summary": {"round": 1, "metric": "accuracy", "student": 0.7, "teacher": 0.8, "base": 0.1,
                         "n": 5}, "result": {}}
    overrides = {"find_data": find_data,
                 "find_model": lambda s, runtime: {"chosen_model": {"id": "m"}},
                 "generate": lambda s, runtime: {"round": s.get("round", 0) + 1},
                 "train": lambda s, runtime: {"last_run": {}},
                 "evaluate": lambda s, runtime: {"rounds": [entry], "best": entry, "failures": []},
                 "export": lambda s, runtime: {"export_path": "/exports/y"}}
    be = WebBackend(chat_model=fake_llm(), sizes=Sizes.tiny(), overrides=overrides)
    sid = be.turn(None, TASK, [], lambda k, p: None).session_id
    with pytest.raises(RuntimeError, match="simulated crash"):
        be.turn(sid, "yes", [], lambda k, p: None)
    turn = be.load(sid)
    assert "resume" in R.status_line(turn.state, turn.interrupt, turn.done)
    turn = be.turn(sid, "continue", [], lambda k, p: None)
    assert turn.done and turn.state["export_path"] == "/exports/y"
    assert "0.700" in R.results_markdown(turn.state)
