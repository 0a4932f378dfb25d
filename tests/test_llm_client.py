"""LLMClient with the fake chat model: cache, call log, errors, structured output."""

import threading

import pytest
from pydantic import BaseModel, Field

from tests.fakes.chat import FakeChatModel
from tools.llm import LLMClient, LLMError, StructuredOutputError
from tools.llm.cache import LLMCache, cache_key
from tools.llm.structured import RETRY_PROMPT, request_options
from tools.settings import Settings


# Token-shaped, built at run time so the source holds no key-like literal.
FAKE_KEY = "sk-" + "a1b2" * 6


class RecordingStore:
    """Collects store.record calls (the real store has its own tests)."""

    def __init__(self):
        self.rows = []

    def record(self, table, row):
        self.rows.append((table, row))
        return str(len(self.rows))


class Pet(BaseModel):
    name: str = Field(max_length=12)
    legs: int


def client_for(fake, tmp_path, **kw):
    return LLMClient(Settings(home=tmp_path), chat_model=fake, **kw)


def test_chat_is_cached_and_logged(tmp_path):
    fake = FakeChatModel(responses={"hi": "hello"})
    store = RecordingStore()
    c = client_for(fake, tmp_path, store=store, session_id="s1")
    assert c.chat([("user", "hi")], purpose="test") == "hello"
    assert c.chat([("user", "hi")], purpose="test") == "hello"
    assert len(fake.calls) == 1  # the second answer came from the cache
    logged = [r for t, r in store.rows if t == "llm_calls"]
    assert [r["cache_hit"] for r in logged] == [False, True]
    assert logged[0]["session_id"] == "s1" and logged[0]["completion_tokens"] == 1


def test_cache_survives_a_new_client_and_can_be_bypassed(tmp_path):
    fake = FakeChatModel(responses={"hi": ["one", "two"]})
    assert client_for(fake, tmp_path).chat([("user", "hi")], purpose="t") == "one"
    assert client_for(fake, tmp_path).chat([("user", "hi")], purpose="t") == "one"
    assert client_for(fake, tmp_path).chat([("user", "hi")], purpose="t", use_cache=False) == "two"
    assert len(fake.calls) == 2


def test_cache_key_depends_on_every_input():
    base = cache_key([{"role": "user", "content": "a"}], "m", {"temperature": 0})
    assert base != cache_key([{"role": "user", "content": "b"}], "m", {"temperature": 0})
    assert base != cache_key([{"role": "user", "content": "a"}], "m2", {"temperature": 0})
    assert base != cache_key([{"role": "user", "content": "a"}], "m", {"temperature": 1})
    assert base != cache_key([{"role": "user", "content": "a"}], "m", {"temperature": 0}, {"x": 1})


def test_cache_treats_a_torn_file_as_a_miss(tmp_path):
    cache = LLMCache(tmp_path)
    cache.put("ab12", {"content": "x"})
    (tmp_path / "ab" / "ab12.json").write_text('{"content": "x', encoding="utf-8")
    assert cache.get("ab12") is None


def test_failure_is_one_clear_error_without_secrets(tmp_path):
    fake = FakeChatModel(responses={"hi": RuntimeError("boom with " + FAKE_KEY)})
    store = RecordingStore()
    c = client_for(fake, tmp_path, store=store)
    with pytest.raises(LLMError) as e:
        c.chat([("user", "hi")], purpose="t")
    assert "boom" in str(e.value) and FAKE_KEY not in str(e.value)
    assert store.rows[0][1]["error"] and FAKE_KEY not in store.rows[0][1]["error"]
    assert c.usage["errors"] == 1


def test_chat_many_keeps_order_and_returns_errors(tmp_path):
    fake = FakeChatModel(responses={f"q{i}": f"a{i}" for i in range(8)} | {"bad": ValueError("x")})
    c = client_for(fake, tmp_path)
    out = c.chat_many([[("user", f"q{i}")] for i in range(8)] + [[("user", "bad")]],
                      purpose="t", concurrency=4)
    assert out[:8] == [f"a{i}" for i in range(8)]
    assert isinstance(out[8], LLMError)


def test_structured_retries_with_the_validation_error(tmp_path):
    retry = RETRY_PROMPT.format(error="legs: Field required")
    fake = FakeChatModel(responses={"pet?": '{"name": "Rex"}', retry: '```json\n{"name": "Rex", "legs": 4}\n```'})
    store = RecordingStore()
    c = client_for(fake, tmp_path, store=store)
    assert c.structured([("user", "pet?")], Pet, purpose="t") == Pet(name="Rex", legs=4)
    # the schema went out as response_format, and the failure was recorded
    assert fake.calls[0]["options"]["response_format"]["type"] == "json_schema"
    events = [r for t, r in store.rows if t == "events"]
    assert events[0]["kind"] == "structured_output_invalid"
    assert c.usage["structured_failures"] == 1


def test_structured_gives_up_loudly(tmp_path):
    fake = FakeChatModel(queue=["not json"] * 5)
    c = client_for(fake, tmp_path)
    with pytest.raises(StructuredOutputError) as e:
        c.structured([("user", "pet?")], Pet, purpose="t", retries=2)
    assert e.value.attempts == 3 and len(fake.calls) == 3
    assert "Pet" in str(e.value) and "OPENAI_BASE_URL" in str(e.value)


def test_structured_function_calling_reads_tool_args(tmp_path):
    fake = FakeChatModel(responses={"pet?": {"name": "Pet", "args": {"name": "Tom", "legs": 4}}})
    c = client_for(fake, tmp_path)
    assert c.structured([("user", "pet?")], Pet, purpose="t", method="function_calling").legs == 4
    assert fake.calls[0]["options"]["tool_choice"]["function"]["name"] == "Pet"


def test_request_options_for_each_method():
    assert request_options(Pet, "json_mode") == {"response_format": {"type": "json_object"}}
    assert request_options(Pet, "json_schema")["response_format"]["json_schema"]["schema"]["required"] == ["name", "legs"]
    with pytest.raises(ValueError):
        request_options(Pet, "xml")


def test_cache_is_safe_under_concurrent_writers(tmp_path):
    cache = LLMCache(tmp_path)
    def put(i):
        for _ in range(50):
            cache.put("samekey", {"content": "v" * 1000})
    threads = [threading.Thread(target=put, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert cache.get("samekey") == {"content": "v" * 1000}
    assert len(cache) == 1
