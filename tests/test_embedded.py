"""The embedded llama.cpp server: start once, reuse across processes, chat, stop cleanly.

These start the real SmolLM2-135M server (about 1 s each); every test stops
what it started in a finalizer so no process outlives the run. A server also
stops by itself when idle or when its P2M_HOME is deleted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SMALL_TEACHER
from tools.llm import embedded
from tools.settings import Settings

REPO = Path(__file__).resolve().parents[1]
_SNIPPET = ("import json; from tools.settings import Settings; from tools.llm import embedded; "
            "i = embedded.ensure_running(Settings()); print(json.dumps([i.pid, i.port]))")


@pytest.fixture
def settings(p2m_home):
    """Settings on this test's P2M_HOME; conftest stops any server started under it."""
    return Settings()


def _spawn_ensure() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _SNIPPET], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(proc: subprocess.Popen) -> list[int]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_start_reuse_chat_and_stop(settings):
    from langchain_openai import ChatOpenAI

    info = embedded.ensure_running(settings)
    assert info.base_url == f"http://127.0.0.1:{info.port}/v1"
    assert info.model == SMALL_TEACHER
    state_file = settings.home / "llm" / "server.json"
    assert json.loads(state_file.read_text())["pid"] == info.pid

    assert embedded.ensure_running(settings) == info            # same process: reused
    assert _result(_spawn_ensure()) == [info.pid, info.port]    # another process: reused

    llm = ChatOpenAI(base_url=info.base_url, api_key="unused", model=info.model,
                     max_tokens=8, temperature=0)
    reply = llm.invoke("Say hello.")
    assert isinstance(reply.content, str) and reply.content.strip()

    out = CliRunner().invoke(_cli(), ["llm", "status"])
    assert info.base_url in out.output and "weak teacher" in out.output

    assert embedded.stop(settings) is True
    assert not state_file.exists()
    assert not embedded._pid_alive(info.pid)
    assert embedded.status(settings) is None
    assert "p2m-embedded: stopping" in (settings.home / "llm" / "server.log").read_text()
    assert embedded.stop(settings) is False


def test_concurrent_first_use_starts_one_server(settings):
    a, b = _spawn_ensure(), _spawn_ensure()
    pa, pb = _result(a), _result(b)
    assert pa == pb
    assert embedded.status(settings)["pid"] == pa[0]


def test_stale_state_file_is_replaced(settings):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    d = settings.home / "llm"
    d.mkdir(parents=True)
    (d / "server.json").write_text(json.dumps(
        {"pid": dead.pid, "port": 1, "base_url": "http://127.0.0.1:1/v1",
         "model": SMALL_TEACHER, "gguf": "x"}))
    assert embedded.status(settings) is None
    info = embedded.ensure_running(settings)
    assert info.pid != dead.pid and info.port != 1
    assert json.loads((d / "server.json").read_text())["pid"] == info.pid


def test_missing_gguf_gives_a_clear_error(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("P2M_EMBEDDED_GGUF", str(tmp_path / "nope.gguf"))
    with pytest.raises(embedded.EmbeddedError, match="P2M_EMBEDDED_GGUF"):
        embedded.ensure_running(settings)


def test_broken_gguf_fails_fast_with_the_log_tail(settings, monkeypatch, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    monkeypatch.setenv("P2M_EMBEDDED_GGUF", str(bad))
    monkeypatch.setenv("P2M_EMBEDDED_ALIAS", "broken")
    with pytest.raises(embedded.EmbeddedError, match="exited") as err:
        embedded.ensure_running(settings, deadline_s=60)
    assert "Log" in str(err.value)
    assert embedded.status(settings) is None


def test_cli_status_when_stopped_explains_how_to_connect_a_stronger_teacher(settings):
    out = CliRunner().invoke(_cli(), ["llm", "status"])
    assert out.exit_code == 0
    assert "Not running" in out.output and "OPENAI_BASE_URL" in out.output
    assert not (settings.home / "llm" / "server.json").exists()  # status never starts it


def _cli():
    from ui.cli import app

    return app


def test_recorded_server_that_stopped_answering_is_replaced_not_leaked(settings):
    hung = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        d = settings.home / "llm"
        d.mkdir(parents=True)
        (d / "server.json").write_text(json.dumps(
            {"pid": hung.pid, "port": 1, "base_url": "http://127.0.0.1:1/v1",
             "model": SMALL_TEACHER, "gguf": "x",
             "proc_start": embedded._proc_start(hung.pid)}))
        info = embedded.ensure_running(settings)
        assert info.pid != hung.pid
        hung.wait(timeout=10)  # raises TimeoutExpired if the old process was left running
        assert not embedded._pid_alive(hung.pid)
    finally:
        hung.kill()


def _wait_gone(pid: int, seconds: float = 60.0) -> bool:
    """Poll (with a deadline) until the process is gone."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not embedded._pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_server_stops_when_its_home_is_deleted(settings, monkeypatch):
    import shutil

    monkeypatch.setenv("P2M_EMBEDDED_WATCH_SECONDS", "0.2")
    info = embedded.ensure_running(settings)
    shutil.rmtree(settings.home)
    assert _wait_gone(info.pid), "the server outlived its P2M_HOME"


def test_server_stops_after_its_idle_timeout(settings, monkeypatch):
    monkeypatch.setenv("P2M_EMBEDDED_WATCH_SECONDS", "0.2")
    monkeypatch.setenv("P2M_EMBEDDED_IDLE_MINUTES", "0.02")  # 1.2 s
    info = embedded.ensure_running(settings)
    assert _wait_gone(info.pid), "the idle server kept running"
    log = (settings.home / "llm" / "server.log").read_text()
    assert "stopping: idle for 0.02 minutes" in log
    assert embedded.status(settings) is None  # a later call starts a fresh one


def test_watchdog_counts_requests_as_activity(monkeypatch):
    from tools.llm import embedded_main

    now = [0.0]
    counters = iter([("1", "5", "0", "0"), ("1", "5", "0", "0"), ("2", "9", "0", "0")]
                    + [("2", "9", "0", "0")] * 100)
    monkeypatch.setattr(embedded_main, "activity", lambda port: next(counters))

    def sleep(s):
        now[0] += s

    why = embedded_main.watch(1, None, idle_minutes=1.0, poll_s=20, clock=lambda: now[0], sleep=sleep)
    assert why == "idle for 1 minutes"
    assert now[0] == 100.0  # activity at t=40 reset the idle clock: stopped at 40 + 60


def test_server_killed_mid_session_is_restarted_and_repeats_no_answered_call(settings):
    """kill -9 of the embedded server between calls: the client starts a new one and goes on;
    the call answered before the kill comes from the cache, not from the new server."""
    import os
    import signal

    from tools.llm import LLMClient

    client = LLMClient(settings)
    first = client.chat([("user", "Say yes.")], purpose="test", max_tokens=4)
    old = embedded.status(settings)
    os.kill(int(old["pid"]), signal.SIGKILL)
    second = client.chat([("user", "Say no.")], purpose="test", max_tokens=4)
    new = embedded.status(settings)
    assert isinstance(second, str) and new["pid"] != old["pid"]
    assert client.usage["server_restarts"] == 1 and client.usage["errors"] == 0
    assert client.chat([("user", "Say yes.")], purpose="test", max_tokens=4) == first
    assert client.usage["cache_hits"] == 1 and client.usage["calls"] == 2
