"""The Slack bot over the real graph (fake LLM) against a local fake Slack Web API.

Requests are signed in the test (v0 HMAC) and sent over HTTP to bolt's
/slack/events handler, as Slack would; workers are joined, never slept on.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import ClassVar

import pytest
from slack_sdk.signature import SignatureVerifier

from agent.context import Sizes
from tests.fakes.chat import FakeChatModel
from tests.fakes.serving import slack_served
from tests.fakes.slack_api import BOT_ID, BOT_USER, FakeSlackAPI
from ui import slack_bot as S

SECRET = "test-signing-secret"
TASK = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"
PROPOSAL = '{"kind": "classification", "labels": ["billing", "technical", "other"]}'
CHANNEL, THREAD = "C123", "1700000000.000001"


def ask_for_data(state, runtime):
    """A real pause at pick_data (through agent.human.ask_user), then a scripted choice."""
    from agent.human import ask_user

    reply, msgs = ask_user({"kind": "pick_data", "message": "Datasets I found:\n| 1 | ag_news |",
                            "options": ["ag_news"]}, state, runtime.context, default="1")
    return {"messages": msgs, "chosen_data": [{"id": "ag_news"}] if reply == "1" else []}


def scripted_data_plane() -> dict:
    """Nodes after the spec approval, scripted (no retrieval, generation or training)."""
    entry = {"summary": {"round": 1, "metric": "accuracy", "student": 0.9, "teacher": 0.8, "base": 0.2,
                         "eval_source": "test", "n": 10},
             "result": {"run_id": "r1", "model_path": "/m", "base_model": "b"}}
    return {
        "find_data": ask_for_data,
        "find_model": lambda s, runtime: {"chosen_model": {"id": "m"}},
        "generate": lambda s, runtime: {"round": s.get("round", 0) + 1},
        "train": lambda s, runtime: {"last_run": {"run_id": "r1", "model_path": "/m"}},
        "evaluate": lambda s, runtime: {"rounds": [entry], "best": entry, "failures": []},
        "export": lambda s, runtime: {"export_path": "/exports/x"},
    }


@pytest.fixture
def slack():
    api = FakeSlackAPI().start()
    bot = S.SlackBot(bot_token="xoxb-test", signing_secret=SECRET, api_url=api.url,
                     chat_model=FakeChatModel(queue=[PROPOSAL] * 50), sizes=Sizes.tiny(),
                     overrides=scripted_data_plane())
    with slack_served(api, bot) as url:
        yield api, bot, url


def post(url: str, body: str, content_type: str, *, secret: str = SECRET, ts: int | None = None,
         signature: str | None = None) -> tuple[int, str]:
    ts = int(time.time()) if ts is None else ts
    sig = signature or SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def event(url: str, ev: dict, **kw) -> tuple[int, str]:
    body = json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
                       "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
                       "event": ev})
    return post(url, body, "application/json", **kw)


def mention(text: str, ts: str = THREAD, thread_ts: str | None = None, user: str = "U1") -> dict:
    ev = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts,
          "channel": CHANNEL, "event_ts": ts}
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def thread_posts(api: FakeSlackAPI) -> list[dict]:
    return [p for p in api.calls_to("chat.postMessage") if p.get("thread_ts") == THREAD]


def test_mention_starts_session_reply_continues_and_button_approves(slack):
    api, bot, url = slack
    sid = S.session_id_for(CHANNEL, THREAD)
    t0 = time.monotonic()
    assert event(url, mention(TASK))[0] == 200
    assert time.monotonic() - t0 < 3.0  # acked before the graph ran
    bot.wait_idle(30)
    posts = thread_posts(api)
    assert posts[0]["text"].startswith("Working on it")
    final = posts[-1]
    assert "Approve?" in final["text"]
    buttons = [e for b in final["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["action_id"] == S.APPROVE and buttons[0]["value"] == sid
    # the status message was edited in place
    assert any(u.get("ts") == api.calls_to("chat.postMessage")[0].get("ts") or u.get("ts")
               for u in api.calls_to("chat.update"))
    assert bot.sessions.state(sid).interrupt["kind"] == "confirm_spec"

    # a question in the thread continues the same session (answered, still at the spec)
    bot.chat_model.queue[:0] = ["Three labels: billing, technical and other."]
    reply = {"type": "message", "user": "U2", "text": "Why is this the right approach?",
             "ts": "1700000000.000050", "thread_ts": THREAD, "channel": CHANNEL, "channel_type": "channel"}
    assert event(url, reply)[0] == 200
    bot.wait_idle(30)
    turn = bot.sessions.state(sid)
    assert turn.interrupt["kind"] == "confirm_spec"
    assert "Three labels" in (turn.interrupt.get("note") or "")  # answered at the same pause
    assert "Three labels" in thread_posts(api)[-1]["text"]

    # the Approve button: block_actions payload, form-encoded like Slack sends it
    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "api_app_id": "A1",
               "token": "x", "trigger_id": "t1", "container": {"type": "message"},
               "channel": {"id": CHANNEL}, "message": {"ts": final.get("ts", "1"), "thread_ts": THREAD},
               "actions": [{"action_id": S.APPROVE, "block_id": "b", "type": "button", "value": sid,
                            "action_ts": "1"}]}
    # a user who never wrote in the thread can't press it
    stranger = {**payload, "user": {"id": "U9"}}
    body = urllib.parse.urlencode({"payload": json.dumps(stranger)})
    assert post(url, body, "application/x-www-form-urlencoded")[0] == 200
    bot.wait_idle(10)
    assert api.calls_to("chat.postEphemeral")[0]["user"] == "U9"
    assert bot.sessions.state(sid).interrupt["kind"] == "confirm_spec"
    assert bot.participants(sid) == {"U1", "U2"}

    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    seen = len(bot.sessions.state(sid).state["messages"])
    assert post(url, body, "application/x-www-form-urlencoded")[0] == 200
    bot.wait_idle(60)
    after = bot.sessions.state(sid)
    assert after.state.get("approved") is True
    assert {"role": "user", "content": "yes", "kind": "reply"} in after.state["messages"][seen - 1:]

    # next pause: pick a dataset, offered as buttons
    assert after.interrupt["kind"] == "pick_data"
    pick_post = thread_posts(api)[-1]
    picks = [e for b in pick_post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["text"]["text"] for e in picks] == ["1: ag_news", "None (synthetic only)"]
    forged = {**payload, "actions": [{**picks[0], "block_id": "b", "action_ts": "2",
                                      "value": "000000000000|1"}]}
    body = urllib.parse.urlencode({"payload": json.dumps(forged)})
    assert post(url, body, "application/x-www-form-urlencoded")[0] == 200  # other session: ignored
    bot.wait_idle(10)
    assert bot.sessions.state(sid).interrupt["kind"] == "pick_data"
    press = {**payload, "actions": [{**picks[0], "block_id": "b", "action_ts": "3"}]}
    body = urllib.parse.urlencode({"payload": json.dumps(press)})
    assert post(url, body, "application/x-www-form-urlencoded")[0] == 200
    bot.wait_idle(60)
    after = bot.sessions.state(sid)
    assert after.state["chosen_data"] == [{"id": "ag_news"}]
    assert after.done and after.state["export_path"] == "/exports/x"
    done_post = thread_posts(api)[-1]
    blocks = json.dumps(done_post["blocks"])
    assert "student" in blocks and "0.900" in blocks and "/exports/x" in blocks

    # resumable from another front end: a fresh Sessions over the same P2M_HOME
    from agent.sessions import Sessions
    from tools.settings import get_settings

    again = Sessions(get_settings()).state(sid)
    assert again.session_id == sid and again.state["spec"]["labels"] == ["billing", "technical", "other"]
    # ... and from the web UI's backend (same checkpointer), with the results table
    from ui.web import WebBackend
    from ui.render import chat_messages, results_markdown

    web_turn = WebBackend().load(sid)
    assert chat_messages(web_turn.state)[0]["content"] == TASK
    assert "| 1 | accuracy | 10 | 0.900 | 0.800 | 0.200 |" in results_markdown(web_turn.state)


def test_bad_or_stale_signature_is_refused_before_the_graph(slack):
    api, bot, url = slack
    assert event(url, mention(TASK), signature="v0=" + "0" * 64)[0] == 401
    assert event(url, mention(TASK), secret="wrong-secret")[0] == 401
    assert event(url, mention(TASK), ts=int(time.time()) - 3600)[0] == 401
    bot.wait_idle(5)
    assert api.calls_to("chat.postMessage") == []
    assert not bot.sessions.exists(S.session_id_for(CHANNEL, THREAD))


def test_bots_and_own_messages_are_ignored(slack):
    api, bot, url = slack
    own = {"type": "message", "user": BOT_USER, "text": "hi", "ts": "1.2", "channel": "D1",
           "channel_type": "im"}
    other = {"type": "message", "bot_id": "B999", "text": TASK, "ts": "1.3", "channel": "D1",
             "channel_type": "im"}
    mention_by_bot = {**mention(TASK), "bot_id": BOT_ID}
    for ev in (own, other, mention_by_bot):
        assert event(url, ev)[0] == 200
    bot.wait_idle(5)
    assert api.calls_to("chat.postMessage") == []


def test_dm_starts_a_session_and_long_messages_are_truncated(slack):
    api, bot, url = slack
    dm = {"type": "message", "user": "U1", "text": TASK + " " + "x" * 50_000, "ts": "1700000001.000001",
          "channel": "D1", "channel_type": "im"}
    assert event(url, dm)[0] == 200
    bot.wait_idle(30)
    sid = S.session_id_for("D1", "1700000001.000001")
    turn = bot.sessions.state(sid)
    assert len(turn.state["description"]) <= 40_000
    assert "truncated" in api.calls_to("chat.postMessage")[0]["text"]


def test_slack_outage_is_logged_and_session_survives(slack, caplog):
    api, bot, _ = slack
    api.fail_next(100)  # every call fails, retries included
    with caplog.at_level("ERROR", logger="p2m.slack"):
        bot.submit(CHANNEL, THREAD, "U1", f"<@{BOT_USER}> {TASK}").join(60)
    assert "failed after retries" in caplog.text
    api.fail_next(0)
    turn = bot.sessions.state(S.session_id_for(CHANNEL, THREAD))
    assert turn.interrupt["kind"] == "confirm_spec"


def test_reply_payload_renders_results_and_limits():
    class T:
        message = "m" * 5000
        done = True
        interrupt = None
        state: ClassVar[dict] = {
            "rounds": [{"summary": {"round": 1, "metric": "accuracy", "student": 0.9,
                                    "teacher": 0.95, "base": 0.3}}], "export_path": "/x/y"}

    _, blocks = S.reply_payload(T, "abc")
    assert len(blocks[0]["text"]["text"]) <= S.SECTION_LIMIT
    assert "0.900" in blocks[1]["text"]["text"] and "/x/y" in json.dumps(blocks)
    assert not any(b["type"] == "actions" for b in blocks)
    assert S.clean_text("<@U1>  hi ") == ("hi", False)
    assert S.session_id_for("C", "1.0") == S.session_id_for("C", "1.0") != S.session_id_for("C", "1.1")


def test_two_users_in_one_thread_are_serialized(slack):
    api, bot, _ = slack
    sid = S.session_id_for(CHANNEL, THREAD)
    bot.submit(CHANNEL, THREAD, "U1", TASK).join(30)
    bot.chat_model.queue[:0] = ["Answer one.", "Answer two."]
    a = bot.submit(CHANNEL, THREAD, "U1", "Why is this the right approach?")
    b = bot.submit(CHANNEL, THREAD, "U2", "Why would that work well?")
    a.join(30), b.join(30)
    turn = bot.sessions.state(sid)
    assert turn.interrupt["kind"] == "confirm_spec"
    notes = [p["text"] for p in thread_posts(api) if "Answer" in p["text"]]
    assert len(notes) == 2  # both answered, one after the other, in the same session
