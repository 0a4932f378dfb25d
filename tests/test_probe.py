"""The endpoint probe: an endpoint that cannot answer stops a session at once, with its real message.

Against a closed port on 127.0.0.1 and tests/fakes/openai_server.py; the embedded case
checks that the server's start is the probe (it is started once, not twice).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from evals.faults import REPO, SECRET, p2m_env
from tests.fakes.openai_server import FakeOpenAIServer
from tools.llm import LLMClient
from tools.llm.probe import EndpointUnreachable, check_endpoint
from tools.settings import Settings

TICKETS = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"


def closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_for(tmp_path, base_url: str, **kw) -> LLMClient:
    return LLMClient(Settings(home=tmp_path / "home", openai_base_url=base_url, openai_api_key=SECRET,
                              model="fake-model", llm_max_retries=0, **kw))


def test_closed_port_is_reported_with_the_url_and_what_to_set(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(EndpointUnreachable) as e:
        check_endpoint(client_for(tmp_path, url))
    msg = str(e.value)
    assert msg.startswith("Cannot reach the LLM endpoint") and url in msg and "OPENAI_BASE_URL" in msg
    assert SECRET not in msg


def test_a_live_endpoint_passes_with_one_get_and_no_paid_call(tmp_path):
    with FakeOpenAIServer() as srv:
        check_endpoint(client_for(tmp_path, srv.base_url))
        assert [r["path"] for r in srv.requests] == ["/v1/models"] and srv.counts["chat"] == 0


def test_without_a_models_route_a_one_token_chat_decides(tmp_path):
    with FakeOpenAIServer() as srv:
        with pytest.raises(EndpointUnreachable, match="404"):  # wrong path: /models and chat both 404
            check_endpoint(client_for(tmp_path, srv.base_url + "/wrong"))
        assert [r["path"] for r in srv.requests] == ["/v1/wrong/models", "/v1/wrong/chat/completions"]


def test_server_errors_on_chat_only_do_not_stop_the_probe(tmp_path):
    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=("500",)) as srv:
        check_endpoint(client_for(tmp_path, srv.base_url))  # /models answers; chat faults are per call


def test_embedded_server_start_is_the_probe_and_happens_once(tmp_path, monkeypatch):
    from tools.llm import embedded

    starts = []

    def fake_running(settings, deadline_s=120.0):
        starts.append(1)
        return embedded.EmbeddedInfo(base_url="http://127.0.0.1:1/v1", model="tiny", pid=1, port=1)

    monkeypatch.setattr(embedded, "ensure_running", fake_running)
    client = LLMClient(Settings(home=tmp_path / "home"))
    check_endpoint(client)
    assert client.endpoint.embedded and client.model_name == "tiny"
    assert starts == [1]

    def broken(settings, deadline_s=120.0):
        raise embedded.EmbeddedError("The embedded LLM server exited (code 1). Log: ...")

    monkeypatch.setattr(embedded, "ensure_running", broken)
    with pytest.raises(EndpointUnreachable, match="embedded LLM server exited"):
        check_endpoint(LLMClient(Settings(home=tmp_path / "home")))


def test_p2m_run_against_a_closed_port_stops_at_once(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    env = p2m_env(tmp_path / "home", url)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ui.cli", "run", "--yes", TICKETS], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    took = time.monotonic() - t0
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Cannot reach the LLM endpoint" in proc.stderr and url in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and SECRET not in proc.stdout + proc.stderr
    assert "all rejected" not in proc.stdout + proc.stderr
    assert took < 45, took  # the repro ran 58 s before saying something else


def test_a_run_whose_every_call_failed_says_so(tmp_path):
    """/models answers but every chat call fails: the end message names the real cause."""
    from agent.context import AgentContext, Sizes
    from agent.sessions import Sessions

    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=("500",)) as srv:
        settings = Settings(home=tmp_path / "home", openai_base_url=srv.base_url, openai_api_key=SECRET,
                            model="fake-model", offline=True, llm_max_retries=0)
        sessions = Sessions(settings, overrides={
            "find_model": lambda s, runtime: {"chosen_model": {"id": "m", "location": "/m"}}})
        ctx = AgentContext.create(settings, autopilot=True, sizes=Sizes.tiny())
        turn = sessions.start("Classify support tickets as billing, technical or other.", ctx)
    assert turn.done and turn.state["error"] == "no_data"
    assert turn.message.startswith("Every call to the teacher failed (")
    assert "server error (500)" in turn.message and srv.base_url in turn.message
    again = sessions.state(turn.session_id)  # stored, so every front end shows it
    assert again.done and again.message == turn.message


def test_front_ends_show_the_endpoint_message_not_a_retry_hint():
    from ui.render import failure_text

    msg = failure_text(EndpointUnreachable("Cannot reach the LLM endpoint at http://x/v1. Check OPENAI_BASE_URL"))
    assert msg.startswith("Stopped before any work: Cannot reach") and "retry" not in msg
    assert failure_text(RuntimeError("boom"), "reply in this thread to retry") == (
        "Error: boom. The session is saved; reply in this thread to retry.")
