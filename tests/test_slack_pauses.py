"""Pauses in Slack as Block Kit: buttons, a spec diff, a label select per row, and presses resumed.

The real graph (fake LLM, scripted data plane) behind the real bot, over signed HTTP
requests and the local fake Web API of tests/test_slack_bot.py. The verify pause is
the real node's, over held-out synthetic rows the scripted generator writes.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from agent.context import Sizes
from tests.fakes.chat import FakeChatModel
from tests.fakes.serving import slack_served
from tests.fakes.slack_api import FakeSlackAPI
from tests.test_slack_bot import CHANNEL, PROPOSAL, SECRET, TASK, THREAD, event, mention, post, thread_posts
from tools.contracts import Example
from ui import slack_bot as S


def data_plane() -> dict:
    """No retrieval; generation writes teacher-labelled rows, so the labels are checked."""
    from agent.data_files import SessionData

    entry = {"summary": {"round": 1, "metric": "accuracy", "student": 0.9, "teacher": 0.8, "base": 0.2,
                         "eval_source": "test", "n": 10},
             "result": {"run_id": "r1", "model_path": "/m", "base_model": "b"}}

    def generate(state, runtime):
        data = SessionData(runtime.context.settings, state["session_id"], runtime.context.store)
        data.save_synthetic(1, [Example(input=f"ticket number {i}", output="billing", source="synthetic:1")
                                for i in range(20)])
        return {"round": 1, "eval_source": "held-out synthetic examples (not a real test split)"}

    return {"find_data": lambda s, runtime: {"chosen_data": []},
            "find_model": lambda s, runtime: {"chosen_model": {"id": "m"}},
            "generate": generate,
            "train": lambda s, runtime: {"last_run": {"run_id": "r1", "model_path": "/m"}},
            "evaluate": lambda s, runtime: {"rounds": [entry], "best": entry, "failures": []},
            "export": lambda s, runtime: {"export_path": "/exports/x"}}


@pytest.fixture
def slack():
    api = FakeSlackAPI().start()
    bot = S.SlackBot(bot_token="xoxb-test", signing_secret=SECRET, api_url=api.url,
                     chat_model=FakeChatModel(queue=[PROPOSAL] * 50), sizes=Sizes.tiny(),
                     overrides=data_plane())
    with slack_served(api, bot) as url:
        yield api, bot, url


def press(url: str, actions: list[dict], *, state: dict | None = None, user: str = "U1") -> int:
    """A block_actions payload from a message of the thread, form-encoded as Slack sends it."""
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "api_app_id": "A1",
               "token": "x", "trigger_id": "t1", "container": {"type": "message"},
               "channel": {"id": CHANNEL}, "message": {"ts": "1700000000.000200", "thread_ts": THREAD},
               "actions": actions, "state": {"values": state or {}}}
    return post(url, urllib.parse.urlencode({"payload": json.dumps(payload)}),
                "application/x-www-form-urlencoded")[0]


def elements(message: dict, kind: str) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == kind for e in b.get("elements", [])]


def test_spec_diff_buttons_and_label_selects_resume_the_session(slack):
    api, bot, url = slack
    sid = S.session_id_for(CHANNEL, THREAD)
    assert event(url, mention(TASK))[0] == 200
    bot.wait_idle(30)
    buttons = elements(thread_posts(api)[-1], "actions")
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [(S.APPROVE, "Approve spec"),
                                                                     (S.EDIT, "Edit")]
    # Edit: a hint to type the change in the thread, the session stays where it is
    assert press(url, [{**buttons[1], "block_id": "p", "action_ts": "1"}]) == 200
    bot.wait_idle(10)
    assert "Reply in this thread with what to change" in api.calls_to("chat.postEphemeral")[-1]["text"]

    # an edit typed in the thread: the next confirmation shows the change as a diff block
    edit = {"type": "message", "user": "U1", "text": "drop other", "ts": "1700000000.000050",
            "thread_ts": THREAD, "channel": CHANNEL, "channel_type": "channel"}
    assert event(url, edit)[0] == 200
    bot.wait_idle(30)
    section = thread_posts(api)[-1]["blocks"][0]["text"]["text"]
    assert section.startswith("```\n- labels: billing, technical, other\n+ labels: billing, technical\n```")

    approve = elements(thread_posts(api)[-1], "actions")[0]
    assert press(url, [{**approve, "block_id": "p", "action_ts": "2"}]) == 200
    bot.wait_idle(60)
    turn = bot.sessions.state(sid)
    assert turn.interrupt["kind"] == "verify_labels"
    items = turn.interrupt["items"]
    assert len(items) >= 2

    # one section per shown row, its select starting at the teacher's label
    blocks = thread_posts(api)[-1]["blocks"]
    rows = [b for b in blocks if b.get("accessory", {}).get("type") == "static_select"]
    assert [b["accessory"]["action_id"] for b in rows] == [f"{S.VERIFY}{it['i']}" for it in items]
    select = rows[0]["accessory"]
    assert select["initial_option"]["value"] == "billing"
    assert [o["text"]["text"] for o in select["options"]] == ["billing (teacher)", "technical", "wrong"]
    buttons = elements(thread_posts(api)[-1], "actions")
    assert [b["text"]["text"] for b in buttons] == ["Send these labels", "All correct", "Skip"]

    # picking in a select is only acked; the pick is read from the state at 'Send these labels'
    pick = {"type": "static_select", "action_id": f"{S.VERIFY}2", "block_id": rows[1]["block_id"],
            "selected_option": {"value": "technical"}, "action_ts": "3"}
    assert press(url, [pick]) == 200
    bot.wait_idle(10)
    assert bot.sessions.state(sid).interrupt["kind"] == "verify_labels"

    chosen = {rows[0]["block_id"]: {f"{S.VERIFY}1": {"type": "static_select",
                                                     "selected_option": {"value": "wrong"}}},
              rows[1]["block_id"]: {f"{S.VERIFY}2": {"type": "static_select",
                                                     "selected_option": {"value": "technical"}}}}
    seen = len(turn.state["messages"])
    assert press(url, [{**buttons[0], "block_id": "p", "action_ts": "4"}], state=chosen) == 200
    bot.wait_idle(60)
    after = bot.sessions.state(sid)
    assert {"role": "user", "content": "1 wrong; 2: technical", "kind": "reply"} in after.state["messages"][seen:]
    assert after.done and after.state["export_path"] == "/exports/x"
    verified = bot.sessions.state(sid).state["messages"]
    n = len(items) - 1  # row 1 marked wrong: no gold for it
    assert f"Recorded {n} user-verified rows (1 corrected)." in [m["content"] for m in verified]


def test_slack_picks_reads_only_the_verify_selects():
    body = {"state": {"values": {"a": {f"{S.VERIFY}3": {"selected_option": {"value": "other"}}},
                                 "b": {"p2m_other": {"selected_option": {"value": "x"}}},
                                 "c": {f"{S.VERIFY}4": {"selected_option": None}}}}}
    assert S.slack_picks(body) == {3: "other"}
    assert S.slack_picks({}) == {}
