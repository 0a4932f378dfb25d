"""The Slack HTTP endpoint's guards: size cap before reading, signature before parsing, replays.

Same fixture as tests/test_slack_bot.py (real bolt app and graph, fake Slack Web API).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse

from slack_sdk.signature import SignatureVerifier

from tests.test_slack_bot import CHANNEL, SECRET, TASK, THREAD, mention, post, slack  # noqa: F401
from ui import slack_bot as S
from ui.slack_http import MAX_BODY, Deliveries


def raw_request(url: str, head: str, body: bytes = b"") -> str:
    """Send a hand-made HTTP request; return the status line (the server may close early)."""
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def signed_event(ev: dict, event_id: str = "Ev1") -> tuple[str, dict]:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                       "event_id": event_id, "event_time": int(time.time()), "event": ev})
    ts = str(int(time.time()))
    return body, {"ts": int(ts), "signature": SignatureVerifier(SECRET).generate_signature(
        timestamp=ts, body=body)}


def test_huge_body_is_refused_by_its_length_before_reading(slack, capfd):
    api, bot, url = slack
    path = urllib.parse.urlsplit(url).path
    # Announce 300 MB, send 10 bytes: a server that reads the body first would hang here.
    status = raw_request(url, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              f"Content-Length: {300 * 1024 * 1024}\r\n", b"0" * 10)
    assert status.split()[1] == "413", status
    assert MAX_BODY <= 4 * 1024 * 1024
    assert "Traceback" not in capfd.readouterr().err


def test_unsigned_or_malformed_bodies_get_401_or_400_without_a_traceback(slack, capfd):
    api, bot, url = slack
    assert post(url, "{not json", "application/json", signature="v0=" + "0" * 64)[0] == 401
    assert post(url, "{not json", "application/json")[0] == 400  # signed, but not JSON
    assert post(url, json.dumps({"event": {}}), "application/json", ts="soon")[0] == 401
    err = capfd.readouterr().err
    assert "Traceback" not in err
    bot.wait_idle(5)
    assert api.calls_to("chat.postMessage") == []


def test_a_signed_event_sent_three_times_runs_once(slack):
    api, bot, url = slack
    body, kw = signed_event(mention(TASK))
    assert [post(url, body, "application/json", **kw)[0] for _ in range(3)] == [200, 200, 200]
    # Slack's own retry: a new signature, the same event_id, an X-Slack-Retry-Num header
    body2, kw2 = signed_event(mention(TASK), event_id="Ev1")
    kw2["ts"] += 1
    kw2["signature"] = SignatureVerifier(SECRET).generate_signature(timestamp=str(kw2["ts"]), body=body2)
    assert post(url, body2, "application/json", **kw2)[0] == 200
    bot.wait_idle(30)
    started = [p for p in api.calls_to("chat.postMessage") if p["text"].startswith("Working on it")]
    assert len(started) == 1, started
    assert bot.sessions.exists(S.session_id_for(CHANNEL, THREAD))


def test_deliveries_forget_after_the_signature_window():
    now = [0.0]
    d = Deliveries(window_s=300, clock=lambda: now[0])
    assert d.first("a") and not d.first("a")
    now[0] = 301.0
    assert d.first("b") and d.first("a")


def test_http_listener_defaults_to_loopback(monkeypatch):
    import inspect

    from typer.testing import CliRunner

    from ui.cli import app

    assert inspect.signature(S.run).parameters["host"].default == "127.0.0.1"
    seen = {}
    monkeypatch.setattr(S, "run", lambda **kw: seen.update(kw))
    assert CliRunner().invoke(app, ["slack", "--http"]).exit_code == 0
    assert seen["host"] == "127.0.0.1"  # `p2m slack --http` without --host
