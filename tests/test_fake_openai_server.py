"""The fake OpenAI-compatible server, driven by the real `openai` and `langchain_openai` clients."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from tests.fakes.openai_server import FakeOpenAIServer, schema_instance


def _client(srv, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key="sk-test-secret-123", **kw)


def _ask(client, text="hi", **kw):
    return client.chat.completions.create(
        model="fake", messages=[{"role": "user", "content": text}], **kw)


def test_chat_completion_passes_body_to_responder_and_reports_usage():
    seen = []

    def responder(body):
        seen.append(body)
        return "billing"

    with FakeOpenAIServer(responder) as srv:
        r = _ask(_client(srv), "I was charged twice", temperature=0.2, max_tokens=7)
        models = _client(srv).models.list()
    assert r.choices[0].message.content == "billing"
    assert r.usage.completion_tokens == 1 and r.usage.prompt_tokens == 4
    assert seen[0]["messages"][0]["content"] == "I was charged twice"
    assert seen[0]["temperature"] == 0.2 and seen[0]["max_tokens"] == 7
    assert [m.id for m in models.data] == ["fake-model"]
    assert srv.counts["chat"] == 1
    # the API key never lands in the request log
    assert "sk-test-secret-123" not in json.dumps(srv.requests)


def test_streaming_through_chatopenai_with_usage():
    with FakeOpenAIServer(lambda body: "one two three") as srv:
        llm = ChatOpenAI(base_url=srv.base_url, api_key="t", model="fake", stream_usage=True)
        chunks = list(llm.stream("count"))
    assert "".join(c.content for c in chunks) == "one two three"
    assert len(chunks) >= 3  # really streamed, not one blob
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == 3
    assert srv.requests[0]["body"]["stream"] is True


class Ticket(BaseModel):
    label: str = Field(description="billing, technical or other")
    confidence: float


def test_default_responder_satisfies_json_schema_structured_output():
    with FakeOpenAIServer() as srv:
        llm = ChatOpenAI(base_url=srv.base_url, api_key="t", model="fake")
        out = llm.with_structured_output(Ticket, method="json_schema").invoke("classify")
    assert isinstance(out, Ticket) and out.label == "x"
    assert srv.requests[0]["body"]["response_format"]["type"] == "json_schema"


def test_schema_instance_follows_refs_enums_and_min_items():
    schema = {"type": "object", "required": ["a", "b"], "properties": {
        "a": {"$ref": "#/$defs/Kind"}, "b": {"type": "array", "minItems": 2,
                                            "items": {"type": "integer"}}},
        "$defs": {"Kind": {"enum": ["qa", "cls"]}}}
    assert schema_instance(schema) == {"a": "qa", "b": [0, 0]}


def test_tool_call_response():
    call = {"tool_calls": [{"name": "pick", "arguments": {"label": "billing"}}]}
    with FakeOpenAIServer(lambda body: call) as srv:
        r = _ask(_client(srv), tools=[{"type": "function", "function": {
            "name": "pick", "parameters": {"type": "object"}}}])
    tc = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert tc.function.name == "pick" and json.loads(tc.function.arguments) == {"label": "billing"}


def test_429_with_retry_after_is_honoured_then_succeeds():
    with FakeOpenAIServer(lambda b: "ok", faults=["429"], retry_after=0.05) as srv:
        r = _ask(_client(srv, max_retries=2))
    assert r.choices[0].message.content == "ok"
    assert srv.counts["fault:429"] == 1 and srv.counts["chat"] == 2
    assert [q["fault"] for q in srv.requests] == ["429", None]


def test_500_surfaces_as_server_error():
    with FakeOpenAIServer(faults=["500"]) as srv:
        with pytest.raises(openai.InternalServerError):
            _ask(_client(srv, max_retries=0))
        # the fault queue is consumed: the next request succeeds
        assert _ask(_client(srv, max_retries=0)).choices[0].message.content == "echo: hi"


def test_truncated_body_is_an_error():
    with FakeOpenAIServer(faults=["truncated"]) as srv:
        with pytest.raises(openai.APIConnectionError):
            _ask(_client(srv, max_retries=0))
    assert srv.counts["fault:truncated"] == 1


def test_timeout_fault_trips_the_client_timeout():
    with FakeOpenAIServer(faults=["timeout"], timeout_delay=2.0) as srv:
        with pytest.raises(openai.APITimeoutError):
            _ask(_client(srv, max_retries=0, timeout=0.3))


def test_malformed_content_breaks_structured_output():
    with FakeOpenAIServer(faults=["malformed"]) as srv:
        llm = ChatOpenAI(base_url=srv.base_url, api_key="t", model="fake", max_retries=0)
        with pytest.raises(Exception) as err:
            llm.with_structured_output(Ticket, method="json_schema").invoke("classify")
    assert "json" in str(err.value).lower() or "valid" in str(err.value).lower()


def test_slow_fault_adds_latency():
    with FakeOpenAIServer(faults=["slow"], slow_delay=0.3) as srv:
        t = time.monotonic()
        _ask(_client(srv))
        assert time.monotonic() - t >= 0.3


def test_seeded_fault_rate_is_reproducible_and_switchable():
    def pattern(seed):
        with FakeOpenAIServer(lambda b: "ok") as srv:
            srv.set_fault_rate(0.5, kinds=("500", "slow"), seed=seed)
            srv.slow_delay = 0.0
            client = _client(srv, max_retries=0)
            for _ in range(12):
                try:
                    _ask(client)
                except openai.InternalServerError:
                    pass
            srv.set_fault_rate(0.0)
            _ask(client)  # switched off at runtime: clean
            return [q["fault"] for q in srv.requests]

    a, b = pattern(7), pattern(7)
    assert a == b and a[-1] is None
    assert {"500", "slow"} & set(a) and None in a[:12]


def test_concurrency_gauge_reaches_number_of_concurrent_clients():
    n, latency = 6, 0.4
    with FakeOpenAIServer(lambda b: "ok", latency=latency) as srv:
        t = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            outs = list(pool.map(lambda i: _ask(_client(srv), f"q{i}"), range(n)))
        elapsed = time.monotonic() - t
    assert all(o.choices[0].message.content == "ok" for o in outs)
    assert srv.max_in_flight == n
    assert elapsed < n * latency / 2  # served in parallel, not one by one


def test_unknown_fault_is_rejected_with_a_clear_message():
    with FakeOpenAIServer() as srv:
        with pytest.raises(ValueError, match="unknown fault"):
            srv.queue_faults("explode")
