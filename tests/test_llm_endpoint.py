"""LLMClient against a real HTTP endpoint (the local fake OpenAI server) and its faults."""

import socket

import pytest
from pydantic import BaseModel, Field

from tests.fakes.openai_server import FakeOpenAIServer
from tools.llm import LLMClient, LLMError, StructuredOutputError
from tools.settings import Settings
from tools.store import Store


class Label(BaseModel):
    label: str = Field(max_length=20)


def client_for(srv_url, tmp_path, **kw):
    settings = Settings(home=tmp_path, openai_base_url=srv_url, openai_api_key="sk-test-secret-abcdefghijkl",
                        model="fake-model", llm_max_retries=kw.pop("retries", 2), llm_timeout=kw.pop("timeout", 5))
    return LLMClient(settings, store=Store(settings.ensure_dirs()), **kw), settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_and_structured_over_http(tmp_path):
    with FakeOpenAIServer(responder=lambda body: '{"label": "billing"}') as srv:
        client, _ = client_for(srv.base_url, tmp_path)
        assert client.structured([("user", "ticket")], Label, purpose="t").label == "billing"
        body = srv.requests[-1]["body"]
        assert body["response_format"]["type"] == "json_schema"
        assert client.chat([("user", "ticket")], purpose="t") == '{"label": "billing"}'


def test_unreachable_endpoint_names_the_url_and_what_to_set(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    client, _ = client_for(url, tmp_path, retries=0)
    with pytest.raises(LLMError) as e:
        client.chat([("user", "hi")], purpose="t")
    assert url in str(e.value) and "OPENAI_BASE_URL" in str(e.value)
    assert "sk-test-secret" not in str(e.value)


def test_429_with_retry_after_is_retried_then_succeeds_and_recorded_once(tmp_path):
    with FakeOpenAIServer(faults=["429", "429"]) as srv:
        client, _ = client_for(srv.base_url, tmp_path, retries=3)
        assert client.chat([("user", "hello there")], purpose="t") == "echo: hello there"
        assert srv.counts["fault:429"] == 2 and srv.counts["chat"] == 3
        rows = client.store.query("SELECT error, cache_hit FROM llm_calls")
        assert rows == [{"error": None, "cache_hit": False}]  # one logical call, one row


def test_persistent_500_gives_one_clear_error_after_bounded_retries(tmp_path):
    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=("500",)) as srv:
        client, _ = client_for(srv.base_url, tmp_path, retries=2)
        with pytest.raises(LLMError, match="server error"):
            client.chat([("user", "x")], purpose="t")
        assert srv.counts["chat"] == 3  # 1 + 2 retries, then stop
        rows = client.store.query("SELECT error FROM llm_calls")
        assert len(rows) == 1 and "server error" in rows[0]["error"]


def test_timeout_is_reported(tmp_path):
    with FakeOpenAIServer(faults=["timeout"], timeout_delay=3.0) as srv:
        client, _ = client_for(srv.base_url, tmp_path, retries=0, timeout=0.5)
        with pytest.raises(LLMError, match="did not answer in time"):
            client.chat([("user", "x")], purpose="t")


def test_malformed_structured_reply_is_retried_and_counted(tmp_path):
    with FakeOpenAIServer(responder=lambda body: '{"label": "ok"}', faults=["malformed"]) as srv:
        client, _ = client_for(srv.base_url, tmp_path)
        assert client.structured([("user", "x")], Label, purpose="t").label == "ok"
        assert client.usage["structured_failures"] == 1
        events = client.store.query("SELECT kind FROM events")
        assert events == [{"kind": "structured_output_invalid"}]


def test_always_malformed_raises_instead_of_returning_none(tmp_path):
    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=("malformed",)) as srv:
        client, _ = client_for(srv.base_url, tmp_path)
        with pytest.raises(StructuredOutputError):
            client.structured([("user", "x")], Label, purpose="t", retries=1)


def test_truncated_body_is_an_error_not_a_silent_empty_reply(tmp_path):
    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=("truncated",)) as srv:
        client, _ = client_for(srv.base_url, tmp_path, retries=1)
        with pytest.raises(LLMError):
            client.chat([("user", "x")], purpose="t")


def test_a_rerun_after_a_restart_pays_nothing(tmp_path):
    with FakeOpenAIServer() as srv:
        client, settings = client_for(srv.base_url, tmp_path)
        client.chat([("user", "same prompt")], purpose="t")
        again = LLMClient(settings, store=client.store)  # a new process would build a new client
        assert again.chat([("user", "same prompt")], purpose="t") == "echo: same prompt"
        assert srv.counts["chat"] == 1
        again_nocache = LLMClient(settings, cache=False)
        again_nocache.chat([("user", "same prompt")], purpose="t")
        assert srv.counts["chat"] == 2
