"""`p2m slack`: the agent as a Slack bot (slack-bolt).

    SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... p2m slack          # Socket Mode
    SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... p2m slack --http --port 3000
                                      # events at http://127.0.0.1:3000/slack/events (--host to widen)
    SLACK_API_URL=http://proxy/api/   # Web API base URL (tests, enterprise proxies)

One Slack thread is one session (id derived from channel + thread ts, so
`p2m chat --session ID` resumes it in a terminal). Mention the bot or DM it to
start; replies in the thread continue. Listeners only validate and hand the
work to a background thread, so Slack gets its ack at once; progress edits one
status message; a pause comes with its choices as buttons (a label select per
row when the teacher's labels are checked), and a press is answered as the same
text a reply in the thread would be (ui/render_pause.py). An event Slack delivers twice
(a retry carries the same event_id) runs once. The HTTP endpoint's guards (body
size, signature before parsing, replays) are in ui/slack_http.py.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid

from ui import render as R
from ui.render import (  # noqa: F401 - the bot's API
    APPROVE,
    EDIT,
    PICK,
    SECTION_LIMIT,
    SEND_LABELS,
    VERIFY,
    clean_text,
    reply_payload,
    slack_picks,
)
from ui.render_pause import pause_view, verdict_reply
from ui.slack_http import Deliveries

log = logging.getLogger("p2m.slack")

class ConfigError(RuntimeError):
    """A missing token or secret, with what to set."""


def session_id_for(channel: str, thread_ts: str) -> str:
    """The session of a Slack thread (stable across restarts)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"slack:{channel}:{thread_ts}").hex[:12]


def web_client(token: str, api_url: str | None = None):
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    kw = {"base_url": api_url} if api_url else {}
    return WebClient(token=token, timeout=15, retry_handlers=[
        ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2)], **kw)


class SlackBot:
    """The bolt app plus the session workers behind it."""

    def __init__(self, settings=None, *, bot_token: str, signing_secret: str | None = None,
                 api_url: str | None = None, chat_model=None, sizes=None,
                 overrides: dict | None = None):
        from slack_bolt import App

        from agent.sessions import Sessions
        from tools.settings import get_settings

        self.settings = (settings or get_settings()).ensure_dirs()
        self.chat_model = chat_model
        self.sizes = sizes
        self.sessions = Sessions(self.settings, overrides)  # overrides: tests script nodes
        self.client = web_client(bot_token, api_url)
        self.signing_secret = signing_secret or "unused-in-socket-mode"
        self.app = App(client=self.client, signing_secret=self.signing_secret,
                       process_before_response=True, logger=log)
        self.deliveries = Deliveries()
        """Event ids seen within Slack's signature window (retries are dropped)."""
        self._locks: dict[str, threading.Lock] = {}
        self._threads: list[threading.Thread] = []
        self._guard = threading.Lock()
        self.bot_user_id = None
        try:
            self.bot_user_id = self.client.auth_test().get("user_id")
        except Exception as e:  # noqa: BLE001 - bolt's own self-event filter still applies
            log.warning("p2m slack: auth.test failed (%s); continuing", e)
        self._register()

    # ---- listeners (fast: validate, then hand off) ----
    def _register(self) -> None:
        app = self.app

        @app.middleware
        def once_per_event(body, next):
            event_id = body.get("event_id") if isinstance(body, dict) else None
            if event_id and not self.deliveries.first(f"event:{event_id}"):
                from slack_bolt.response import BoltResponse

                log.info("p2m slack: dropped a repeated delivery of %s", event_id)
                return BoltResponse(status=200, body="")
            return next()

        @app.event("app_mention")
        def on_mention(event, ack):
            ack()
            if self._from_bot(event):
                return
            thread = event.get("thread_ts") or event["ts"]
            self.submit(event["channel"], thread, event.get("user", ""), event.get("text", ""))

        @app.event("message")
        def on_message(event, ack):
            ack()
            if self._from_bot(event) or event.get("subtype"):
                return
            text = event.get("text", "")
            if self.bot_user_id and f"<@{self.bot_user_id}>" in text:
                return  # the app_mention listener has it
            channel, thread = event["channel"], event.get("thread_ts")
            if event.get("channel_type") == "im":
                self.submit(channel, thread or event["ts"], event.get("user", ""), text)
            elif thread and self.sessions.exists(session_id_for(channel, thread)):
                self.submit(channel, thread, event.get("user", ""), text)

        @app.action(APPROVE)
        def on_approve(ack, body):
            ack()
            self._button(body, "yes")

        @app.action(re.compile(f"^{PICK}\\d+$"))
        def on_pick(ack, body):
            ack()
            value = str((body.get("actions") or [{}])[0].get("value") or "")
            self._button(body, value.partition("|")[2] or "")

        @app.action(re.compile(f"^{VERIFY}\\d+$"))
        def on_select(ack):
            ack()  # a label picked in a row: read from the message's state at 'Send these labels'

        @app.action(SEND_LABELS)
        def on_send_labels(ack, body):
            ack()
            self._send_labels(body)

        @app.action(EDIT)
        def on_edit(ack, body):
            ack()
            message = body.get("message") or {}
            self._call("chat.postEphemeral", channel=(body.get("channel") or {}).get("id"),
                       user=(body.get("user") or {}).get("id", ""),
                       thread_ts=message.get("thread_ts") or message.get("ts"),
                       text="Reply in this thread with what to change, e.g. 'the labels are a, b "
                            "and c', 'drop b', 'aim for 90%', 'budget: 50 calls'.")

    def _send_labels(self, body: dict) -> None:
        """'Send these labels': the row selects as the verify reply a user would type."""
        sid = str((body.get("actions") or [{}])[0].get("value") or "").partition("|")[0]
        view = pause_view(self.sessions.state(sid).interrupt) if self.sessions.exists(sid) else None
        if view is None or not view.rows:
            log.warning("p2m slack: labels sent for %s, which is not checking labels; ignored", sid)
            return
        self._button(body, verdict_reply(view.rows, slack_picks(body)))

    def _button(self, body: dict, reply: str) -> None:
        """A button press: only in its own thread's session, only by a participant."""
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        thread = message.get("thread_ts") or message.get("ts")
        value = str((body.get("actions") or [{}])[0].get("value") or "").partition("|")[0]
        if not channel or not thread or value != session_id_for(channel, thread):
            log.warning("p2m slack: button for a session of another thread ignored")
            return
        user = (body.get("user") or {}).get("id", "")
        if user not in self.participants(value):
            log.warning("p2m slack: %s is not in thread %s; button ignored", user, value)
            self._call("chat.postEphemeral", channel=channel, user=user, thread_ts=thread,
                       text="Only people who wrote in this thread can answer with these buttons. "
                            "Reply in the thread first.")
            return
        self.submit(channel, thread, user, reply)

    def _from_bot(self, event: dict) -> bool:
        return bool(event.get("bot_id") or event.get("subtype") == "bot_message"
                    or (self.bot_user_id and event.get("user") == self.bot_user_id))

    # ---- background work ----
    def submit(self, channel: str, thread_ts: str, user: str, text: str) -> threading.Thread:
        t = threading.Thread(target=self._work, args=(channel, thread_ts, user, text), daemon=True,
                             name=f"p2m-slack-{session_id_for(channel, thread_ts)}")
        with self._guard:
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()
        return t

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Join the workers (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._guard:
                alive = [t for t in self._threads if t.is_alive()]
            if not alive:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(alive)} Slack workers still running")
            alive[0].join(left)

    def _participants_file(self, sid: str):
        from pathlib import Path

        d = Path(self.settings.home) / "slack"
        d.mkdir(parents=True, exist_ok=True)
        return d / f"{sid}.users"

    def participants(self, sid: str) -> set[str]:
        """Users who wrote in the session's thread (they may press its buttons)."""
        f = self._participants_file(sid)
        return set(f.read_text().split()) if f.exists() else set()

    def _add_participant(self, sid: str, user: str) -> None:
        if user and re.fullmatch(r"[A-Z0-9]+", user) and user not in self.participants(sid):
            with self._participants_file(sid).open("a") as fh:
                fh.write(user + "\n")

    def _lock(self, sid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sid, threading.Lock())

    def _call(self, method: str, **kw):
        """A Web API call; after the client's retries, log clearly and return None."""
        try:
            return self.client.api_call(method, json=kw)
        except Exception as e:  # noqa: BLE001 - Slack outage: the session itself is intact
            log.error("p2m slack: %s failed after retries (%s); the session is saved and "
                      "continues with the next message", method, e)
            return None

    def _work(self, channel: str, thread_ts: str, user: str, raw_text: str) -> None:
        from agent.context import AgentContext, Sizes

        sid = session_id_for(channel, thread_ts)
        text, cut = clean_text(raw_text)
        with self._lock(sid):  # two people typing in one thread: one turn at a time
            self._add_participant(sid, user)
            status = self._call("chat.postMessage", channel=channel, thread_ts=thread_ts,
                                text="Working on it..." + (" (your message was truncated to "
                                                           "40,000 characters)" if cut else ""))
            status_ts = status.get("ts") if status else None
            last = [0.0]

            def on_event(kind: str, payload: dict) -> None:
                m = R.event_message(kind, payload)
                if not m or not status_ts or time.monotonic() - last[0] < 1.0:
                    return
                last[0] = time.monotonic()
                self._call("chat.update", channel=channel, ts=status_ts, text=R.slack_status(m))

            ctx = AgentContext.create(self.settings, session_id=sid, chat_model=self.chat_model,
                                      sizes=self.sizes or Sizes(), on_event=on_event)
            try:
                if self.sessions.exists(sid):
                    turn = self.sessions.reply(sid, text or "yes", ctx)
                elif text:
                    turn = self.sessions.start(text, ctx, session_id=sid)
                else:
                    self._finish(channel, status_ts, "Describe the task (with a few examples) to start.")
                    return
            except Exception as e:
                from tools.llm.probe import EndpointUnreachable

                if isinstance(e, EndpointUnreachable):  # the user's setting to fix, not a bug
                    log.error("p2m slack: session %s: %s", sid, e)
                else:
                    log.exception("p2m slack: session %s failed", sid)
                self._finish(channel, status_ts, R.failure_text(e, "reply in this thread to retry"))
                return
            state = R.status_line(turn.state, turn.interrupt, turn.done)
            self._finish(channel, status_ts, f"Session `{sid}`: {state}")
            reply, blocks = reply_payload(turn, sid)
            self._call("chat.postMessage", channel=channel, thread_ts=thread_ts, text=reply,
                       blocks=blocks)

    def _finish(self, channel: str, status_ts: str | None, text: str) -> None:
        if status_ts:
            self._call("chat.update", channel=channel, ts=status_ts, text=text)


def http_server(bot: SlackBot, host: str = "127.0.0.1", port: int = 3000, **kw):
    """The guarded Events API server (ui/slack_http.py) for this bot."""
    from ui.slack_http import http_server as serve

    return serve(bot, bot.signing_secret, host, port, **kw)


def run(*, http: bool = False, port: int = 3000, host: str = "127.0.0.1", env: dict | None = None) -> None:
    """`p2m slack`: Socket Mode (default) or HTTP mode; blocks."""
    env = os.environ if env is None else env
    token = env.get("SLACK_BOT_TOKEN")
    if not token:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the xoxb- bot token of your Slack app).")
    if http and not env.get("SLACK_SIGNING_SECRET"):
        raise ConfigError("--http needs SLACK_SIGNING_SECRET (Basic Information > Signing Secret).")
    if not http and not env.get("SLACK_APP_TOKEN"):
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (an xapp- token with connections:write), "
                          "or use --http with SLACK_SIGNING_SECRET.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    bot = SlackBot(bot_token=token, signing_secret=env.get("SLACK_SIGNING_SECRET"),
                   api_url=env.get("SLACK_API_URL"))
    if http:
        server = http_server(bot, host, port)
        log.info("p2m slack: HTTP mode, events at http://%s:%d/slack/events", host, port)
        try:
            server.serve_forever()
        finally:
            server.server_close()
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("p2m slack: Socket Mode")
        SocketModeHandler(bot.app, env["SLACK_APP_TOKEN"]).start()
