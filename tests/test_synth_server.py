"""The generator against a real HTTP endpoint (FakeOpenAIServer): concurrency, rate
limits, 429 storms with Retry-After, malformed replies."""

from __future__ import annotations

import json
import re

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_synth_generate import SPAM
from tools.llm import LLMClient
from tools.settings import Settings
from tools.synth import SynthConfig, generate_round
from tools.synth.embed import hashed_bow_embed


def teacher_responder(body: dict) -> str:
    """A well-behaved teacher over HTTP: unique inputs per request seed and item."""
    prompt = body["messages"][-1]["content"]
    if '"topics"' in prompt:
        return json.dumps({"topics": ["bank alerts", "family chat", "deliveries"],
                           "styles": ["terse", "chatty"]})
    if m := re.search(r'Write (\d+) new inputs whose correct output is "(\w+)"', prompt):
        subjects = re.findall(r"^\d+\. subject: (.*?); style", prompt, re.M)
        return json.dumps({"inputs": [f"msg {body.get('seed')}-{j} about {s} clearly {m.group(2)}"
                                      for j, s in enumerate(subjects[:int(m.group(1))])]})
    if "Write " not in prompt and body["messages"][0]["role"] == "system" and \
            "Answer with exactly one label" in body["messages"][0]["content"]:
        m = re.search(r"clearly (\w+)", prompt)
        return json.dumps({"output": m.group(1) if m else "ham"})
    return "ok"


def is_answer(body: dict) -> bool:
    return bool(body) and "Answer with exactly one label" in body["messages"][0]["content"]


def client_for(srv: FakeOpenAIServer, **kw) -> LLMClient:
    s = Settings(openai_base_url=srv.base_url, openai_api_key="sk-test-123456", model="fake-model",
                 llm_timeout=5, **kw)
    return LLMClient(s)


def cfg(**kw) -> SynthConfig:
    base = dict(consistency_k=0, propose_attributes=False, near_dup_threshold=None,
                overlap_threshold=None, items_per_request=2)
    return SynthConfig(**{**base, **kw})


def test_concurrency_limit_is_reached_and_never_exceeded():
    with FakeOpenAIServer(responder=teacher_responder, latency=0.05) as srv:
        res = generate_round(SPAM, client_for(srv), n=48, round=1, config=cfg(concurrency=6))
    assert res.report.accepted >= 48
    assert srv.max_in_flight == 6
    assert srv.counts["chat"] == res.report.requested <= 24 + 6


def test_429_storm_is_ridden_out_with_retry_after():
    with FakeOpenAIServer(responder=teacher_responder, retry_after=0.02) as srv:
        srv.set_fault_rate(0.3, kinds=("429",), seed=3)
        res = generate_round(SPAM, client_for(srv, llm_max_retries=6), n=24, round=1,
                             config=cfg(concurrency=4))
    assert res.report.accepted >= 24 and res.report.errors == 0
    assert srv.counts["fault:429"] >= 3
    retried = [r for r in srv.requests if r["headers"].get("x-stainless-retry-count", "0") != "0"]
    assert len(retried) >= srv.counts["fault:429"]  # each 429 was followed by a retry


def test_retry_waits_as_long_as_retry_after_says():
    # 1.5 s is far above the client's own first backoff (about 0.5 s): only the header explains it
    with FakeOpenAIServer(responder=teacher_responder, retry_after=1.5) as srv:
        srv.queue_faults("429")
        res = generate_round(SPAM, client_for(srv), n=1, round=1, config=cfg(concurrency=1))
    times = [r["time"] for r in srv.requests if r["path"].endswith("/chat/completions")]
    assert res.report.accepted >= 1 and srv.requests[0]["fault"] == "429"
    assert times[1] - times[0] >= 1.4


def test_endless_429s_end_the_round_with_a_clear_reason():
    with FakeOpenAIServer(responder=teacher_responder, retry_after=0.01) as srv:
        srv.set_fault_rate(1.0, kinds=("429",))
        res = generate_round(SPAM, client_for(srv, llm_max_retries=1), n=50, round=1,
                             config=cfg(concurrency=4))
    assert res.report.accepted == 0 and res.report.errors == 4
    assert res.report.stopped.startswith("endpoint failing")
    assert "429" in res.report.stopped
    assert srv.counts["chat"] == 8  # 4 requests, 1 retry each: bounded, not a loop


def test_requests_per_minute_limit_spaces_request_starts():
    import time

    with FakeOpenAIServer(responder=teacher_responder) as srv:
        client = client_for(srv)
        client.chat([("user", "warm up")], purpose="test")
        t0 = time.time()
        generate_round(SPAM, client, n=12, round=1, config=cfg(concurrency=6, rpm=600))
    times = sorted(r["time"] for r in srv.requests[1:] if r["path"].endswith("/chat/completions"))
    # 600/min = one start per 100 ms: the 6th request cannot start before 0.5 s (a lower
    # bound, so a loaded machine cannot make it flaky; unthrottled this takes ~50 ms)
    assert len(times) >= 6 and times[5] - t0 >= 0.48


def test_malformed_server_replies_are_counted_not_dropped():
    with FakeOpenAIServer(responder=teacher_responder) as srv:
        srv.queue_faults("malformed", "malformed")
        res = generate_round(SPAM, client_for(srv), n=4, round=1,
                             config=cfg(concurrency=1, near_dup_threshold=0.9),
                             embedder=hashed_bow_embed)
    assert res.report.malformed == 2 and res.report.accepted >= 4
    bad = [e for e in res.examples if not e.accepted]
    assert len(bad) == 2 and all("{not json" in e.input for e in bad)


@pytest.mark.parametrize("k", [3])
def test_self_consistency_answers_go_through_the_endpoint(k):
    with FakeOpenAIServer(responder=teacher_responder) as srv:
        res = generate_round(SPAM, client_for(srv), n=4, round=1,
                             config=cfg(concurrency=4, consistency_k=k))
    answers = [r for r in srv.requests if is_answer(r["body"])]
    assert res.report.accepted >= 4 and len(answers) == len(res.examples) * k
    by_input: dict = {}
    for a in answers:
        by_input.setdefault(a["body"]["messages"][-1]["content"], set()).add(a["body"].get("seed"))
    assert len(by_input) == len(res.examples) and all(len(seeds) == k for seeds in by_input.values())
