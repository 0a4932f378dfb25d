"""The web backend over the real graph with a fake LLM: start, pause, reload from the checkpointer."""

from __future__ import annotations

from agent.context import Sizes
from tests.fakes.chat import FakeChatModel
from ui import web_render as R

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
