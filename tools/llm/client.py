"""The one way the product talks to an LLM.

`LLMClient` wraps a LangChain chat model with what every caller needs:
a content-addressed cache (a re-run never pays twice), a row in `llm_calls` for
every call (tokens, latency, cache hit, error), clear errors naming the
endpoint, bounded concurrency and a requests-per-minute limit for batches,
and structured output that is validated and retried (see `structured.py`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from tools.llm.cache import LLMCache, cache_key
from tools.llm.errors import LLMError, explain
from tools.llm.messages import Messages, normalize
from tools.llm.prices import price_per_million
from tools.redact import redact
from tools.settings import Settings, get_settings

def _cut_reply(e: Exception):
    """The partial reply inside openai's LengthFinishReasonError, as an AIMessage."""
    completion = getattr(e, "completion", None)
    if type(e).__name__ != "LengthFinishReasonError" or completion is None:
        return None
    from langchain_core.messages import AIMessage

    u = completion.usage
    return AIMessage(
        content=completion.choices[0].message.content or "",
        usage_metadata={"input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens,
                        "total_tokens": u.total_tokens} if u else None,
        response_metadata={"finish_reason": "length"},
    )


class RateLimiter:
    """At most `rpm` call starts per rolling minute, shared by all threads."""

    def __init__(self, rpm: float | None):
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class LLMClient:
    """Cached, recorded, rate-limited access to the configured chat model.

    `chat_model` injects any LangChain chat model (tests pass a fake); otherwise
    a `ChatOpenAI` is built for the configured endpoint, starting the embedded
    server when no endpoint is set.
    """

    def __init__(self, settings: Settings | None = None, *, store=None, chat_model=None,
                 session_id: str | None = None, cache: bool | None = None):
        self.settings = settings or get_settings()
        self.store = store
        self.session_id = session_id
        self._injected = chat_model
        self._endpoint = None
        self._base_model = None
        use_cache = self.settings.cache if cache is None else cache
        self.cache = LLMCache(self.settings.cache_dir / "llm") if use_cache else None
        self._secrets = self.settings.secrets()
        self._lock = threading.Lock()
        self.usage = {"calls": 0, "cache_hits": 0, "prompt_tokens": 0,
                      "completion_tokens": 0, "errors": 0}

    # -- endpoint ---------------------------------------------------------
    @property
    def endpoint(self):
        """Resolved lazily: building a client never starts a server."""
        if self._endpoint is None:
            from tools.llm.factory import Endpoint, resolve_endpoint

            if self._injected is not None:
                name = getattr(self._injected, "model_name", None) or type(self._injected).__name__
                self._endpoint = Endpoint("injected://", str(name), embedded=False)
            else:
                self._endpoint = resolve_endpoint(self.settings)
        return self._endpoint

    @property
    def embedded_hint(self) -> bool:
        """Whether calls go to the embedded model, decided without starting it (estimates)."""
        if self._endpoint is not None:
            return self._endpoint.embedded
        return self._injected is None and self.settings.uses_embedded

    @property
    def model_name(self) -> str:
        return self.endpoint.model

    @property
    def is_embedded(self) -> bool:
        return self.endpoint.embedded

    def chat_model(self, *, temperature: float = 0.0, max_tokens: int | None = 256, **kw):
        """The underlying LangChain chat model with these sampling parameters."""
        if self._injected is not None:
            return self._injected
        from tools.llm.factory import make_chat_model

        return make_chat_model(self.settings, self.endpoint, temperature=temperature,
                               max_tokens=max_tokens, **kw)

    def _send(self, msgs: list[tuple[str, str]], temperature: float, max_tokens: int | None,
              seed: int | None, bind: dict | None):
        """One request with this call's sampling parameters and request options.

        One ChatOpenAI per client, the parameters passed per call: building a ChatOpenAI
        (or a bound runnable) costs ~1 ms of CPU, which bounded a synthetic round's
        requests per second.
        """
        if self._injected is not None:  # a test's fake: it takes no sampling parameters
            return (self._injected.bind(**bind) if bind else self._injected).invoke(msgs)
        with self._lock:
            if self._base_model is None:
                self._base_model = self.chat_model(temperature=0.0, max_tokens=None)
        params = {"temperature": temperature, **({"seed": seed} if seed is not None else {})}
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        return self._base_model.invoke(msgs, **params, **(bind or {}))

    def _restart_embedded(self, error: Exception, used) -> bool:
        """After a refused connection to the embedded server, start it again (once per death).

        A server killed mid-round (out of memory, `kill`) would otherwise fail every
        remaining request; answered requests are in the cache, so a restart repeats none.
        """
        import openai

        if self._injected is not None or used is None or not used.embedded:
            return False
        if not isinstance(error, openai.APIConnectionError) or isinstance(error, openai.APITimeoutError):
            return False
        with self._lock:
            if self._endpoint is used:  # the first thread to see this death resolves anew
                self._endpoint, self._base_model = None, None
                self.usage["server_restarts"] = self.usage.get("server_restarts", 0) + 1
        _ = self.endpoint  # ensure_running replaces a dead server (file-locked: one start)
        return True

    # -- calls ------------------------------------------------------------
    def chat(self, messages: Messages, *, purpose: str, temperature: float = 0.0,
             max_tokens: int = 256, seed: int | None = None, use_cache: bool = True) -> str:
        """One completion as text. Raises `LLMError` with a clear message."""
        reply = self.invoke(messages, purpose=purpose, temperature=temperature,
                            max_tokens=max_tokens, seed=seed, use_cache=use_cache)
        return reply["content"]

    def invoke(self, messages: Messages, *, purpose: str, temperature: float = 0.0,
               max_tokens: int | None = 256, seed: int | None = None, bind: dict | None = None,
               schema: dict | None = None, use_cache: bool = True) -> dict:
        """One call through cache and log; returns {"content", "tool_args", "cache_hit"}.

        `bind` passes request options (response_format, tools) to the model;
        `schema` is folded into the cache key.
        """
        msgs = normalize(messages)
        params = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed,
                  "bind": bind}
        key = cache_key(msgs, self.model_name, params, schema)
        if use_cache and self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.count(cache_hits=1)
            self._record(purpose, key, 0, 0, 0.0, cache_hit=True)
            return {**hit, "cache_hit": True}
        t0 = time.perf_counter()
        pairs, used = [(m["role"], m["content"]) for m in msgs], self._endpoint
        try:
            try:
                msg = self._send(pairs, temperature, max_tokens, seed, bind)
            except Exception as e:  # noqa: BLE001 - re-raised unless the embedded server died
                if not self._restart_embedded(e, used):
                    raise
                msg = self._send(pairs, temperature, max_tokens, seed, bind)
        except Exception as e:  # noqa: BLE001 - every failure becomes one clear LLMError
            if (cut := _cut_reply(e)) is not None:
                msg = cut  # a reply cut at max_tokens is still a reply: callers validate it
            else:
                ms = (time.perf_counter() - t0) * 1000
                text = self._explain(e)
                self.count(calls=1, errors=1)
                self._record(purpose, key, 0, 0, ms, error=text)
                raise LLMError(text) from None

        ms = (time.perf_counter() - t0) * 1000
        usage = getattr(msg, "usage_metadata", None) or {}
        pt, ct = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        tool_calls = getattr(msg, "tool_calls", None) or []
        entry = {"content": msg.content if isinstance(msg.content, str) else str(msg.content),
                 "tool_args": tool_calls[0]["args"] if tool_calls else None,
                 "finish_reason": (getattr(msg, "response_metadata", None) or {}).get("finish_reason")}
        self.count(calls=1, prompt_tokens=pt, completion_tokens=ct)
        self._record(purpose, key, pt, ct, ms)
        if use_cache and self.cache is not None:
            self.cache.put(key, entry)
        return {**entry, "cache_hit": False}

    def chat_many(self, batch: Sequence[Messages], *, purpose: str, concurrency: int = 4,
                  rpm: float | None = None, **kw) -> list[str | LLMError]:
        """Many completions concurrently, in input order; failures come back as LLMError."""
        limiter = RateLimiter(rpm)

        def one(msgs):
            limiter.wait()
            try:
                return self.chat(msgs, purpose=purpose, **kw)
            except LLMError as e:
                return e

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(one, batch))

    def structured(self, messages: Messages, schema, *, purpose: str, **kw):
        """A validated instance of the pydantic `schema` (see `tools.llm.structured`)."""
        from tools.llm.structured import ask_structured

        return ask_structured(self, messages, schema, purpose=purpose, **kw)

    # -- bookkeeping ------------------------------------------------------
    def _explain(self, e: Exception) -> str:
        ep = self._endpoint
        text = explain(e, ep.base_url, ep.model) if ep else f"{type(e).__name__}: {e}"
        return redact(text, self._secrets)

    def count(self, **inc: int) -> None:
        """Add to the usage counters (thread-safe); unknown keys start at 0."""
        with self._lock:
            for k, v in inc.items():
                self.usage[k] = self.usage.get(k, 0) + v

    def _record(self, purpose: str, key: str, pt: int, ct: int, ms: float, *,
                cache_hit: bool = False, error: str | None = None) -> None:
        if self.store is None:
            return
        price = price_per_million(self.model_name)
        cost = 0.0 if self.endpoint.embedded else (
            (pt * price[0] + ct * price[1]) / 1e6 if price and not cache_hit else None)
        self.store.record("llm_calls", {
            "session_id": self.session_id, "purpose": purpose, "model": self.model_name,
            "cache_key": key, "prompt_tokens": pt, "completion_tokens": ct,
            "latency_ms": round(ms, 1), "cost_usd": 0.0 if cache_hit else cost,
            "cache_hit": cache_hit, "error": error,
        })
