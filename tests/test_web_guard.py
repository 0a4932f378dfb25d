"""`p2m web` guards: Host check without a login (DNS rebinding), wrong-password limit with one.

The app is launched for real (ui.web.launch) on a free loopback port with a fake LLM;
requests are sent with hand-set Host headers, as a rebinding page's browser would.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.fakes.chat import FakeChatModel
from ui.web_guard import LoginLimiter, split_host


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def launched(p2m_home, monkeypatch):
    from tools.settings import Settings
    from ui.web import launch

    apps = []

    def start(env: dict | None = None):
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        port = free_port()
        demo = launch("127.0.0.1", port, settings=Settings(home=p2m_home),
                      chat_model=FakeChatModel(queue=["{}"] * 5), block=False)
        apps.append(demo)
        return port

    yield start
    for demo in apps:
        demo.close()


def test_without_login_only_local_host_names_are_served(launched):
    port = launched()
    call = f"http://127.0.0.1:{port}/gradio_api/call/on_load?session=abc"
    body = json.dumps({"data": [""]}).encode()
    evil = {"Host": f"rebind.evil.example:{port}", "Origin": f"http://rebind.evil.example:{port}",
            "Content-Type": "application/json"}
    code, text = request(call, body, evil)
    assert code == 403 and "P2M_WEB_PASSWORD" in text
    assert request(f"http://127.0.0.1:{port}/", headers={"Host": "rebind.evil.example"})[0] == 403
    # a local name on another port is not this server either
    assert request(call, body, {**evil, "Host": f"localhost:{port + 1}"})[0] == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        code, text = request(call, body, {"Host": host, "Content-Type": "application/json"})
        assert code == 200 and "event_id" in text, (host, code, text[:300])


def test_wrong_passwords_are_rate_limited(launched):
    port = launched({"P2M_WEB_USER": "me", "P2M_WEB_PASSWORD": "right-password"})
    login = f"http://127.0.0.1:{port}/login"

    def attempt(pw: str) -> int:
        form = urllib.parse.urlencode({"username": "me", "password": pw}).encode()
        return request(login, form, {"Content-Type": "application/x-www-form-urlencoded"})[0]

    codes = [attempt(f"guess{i}") for i in range(30)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    assert attempt("right-password") == 429  # locked out: the right one waits too
    # with a login set, other Host names are allowed (the login protects the page)
    assert request(f"http://127.0.0.1:{port}/", headers={"Host": f"p2m.example:{port}"})[0] == 200


def test_login_limiter_window_and_reset():
    now = [0.0]
    lim = LoginLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert lim.wait_s("a") == 0
        lim.failed("a")
    assert lim.wait_s("a") == pytest.approx(60) and lim.wait_s("b") == 0
    now[0] = 61.0
    assert lim.wait_s("a") == 0
    lim.failed("a")
    lim.succeeded("a")
    assert lim.wait_s("a") == 0


def test_split_host():
    assert split_host("LocalHost:7860") == ("localhost", 7860)
    assert split_host("[::1]:80") == ("[::1]", 80)
    assert split_host("127.0.0.1") == ("127.0.0.1", None)
    assert split_host("127.0.0.1:x") == ("127.0.0.1", -1)
