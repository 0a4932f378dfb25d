"""A local OpenAI-compatible HTTP server for integration tests, with fault injection.

    with FakeOpenAIServer(responder=lambda body: "billing") as srv:
        ChatOpenAI(base_url=srv.base_url, api_key="test", model="fake").invoke("hi")
        assert srv.counts["chat"] == 1

Routes: POST /v1/chat/completions (plain JSON or SSE when "stream": true, both
with `usage`), GET /v1/models. The responder gets the parsed request body and
returns the assistant content (str) or a dict
`{"content": str|None, "tool_calls": [{"name": ..., "arguments": dict|str}]}`.
Without a responder, a request with a json_schema response_format gets a
minimal instance of the schema, anything else an echo of the last user message.

Faults (per chat request; set at construction or at runtime):
    "429"        HTTP 429 with Retry-After (seconds, `retry_after`) and retry-after-ms
    "500"        HTTP 500 with an OpenAI-style error body
    "timeout"    no answer for `timeout_delay` s (beyond the client's timeout), then
                 the connection closes; the wait ends early when the server stops
    "truncated"  HTTP 200 whose body stops halfway (Content-Length of the full body)
    "malformed"  HTTP 200, well-formed envelope, content that is not the JSON asked for
    "slow"       `slow_delay` s of extra latency, then a normal answer
`srv.queue_faults("429", "500")` applies to the next requests in order;
`srv.set_fault_rate(0.2, kinds=("500",), seed=1)` draws faults with a seeded RNG.
`latency` is added to every chat request (throughput tests); `max_in_flight`
is the most chat requests seen at once. Every request is recorded in `requests`
(Authorization headers are never recorded).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

FAULTS = ("429", "500", "timeout", "truncated", "malformed", "slow")
Responder = Callable[[dict], "str | dict"]


def schema_instance(schema: dict, defs: dict | None = None) -> Any:
    """A minimal value that validates against a JSON schema (required fields only)."""
    defs = defs if defs is not None else schema.get("$defs", schema.get("definitions", {}))
    if "$ref" in schema:
        return schema_instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return schema_instance(schema[key][0], defs)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: schema_instance(props[k], defs) for k in schema.get("required", props)}
    if kind == "array":
        return [schema_instance(schema.get("items", {}), defs)
                for _ in range(schema.get("minItems", 0))]
    return {"string": "x" * max(1, schema.get("minLength", 1)), "integer": 0, "number": 0.0,
            "boolean": False, "null": None}.get(kind, "x")


def default_responder(body: dict) -> str:
    """Schema-valid JSON for json_schema requests, else an echo of the last user message."""
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        return json.dumps(schema_instance(rf["json_schema"]["schema"]))
    if rf.get("type") == "json_object":
        return "{}"
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1]["content"] if users else ""
    if isinstance(content, list):  # content parts
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return f"echo: {content}"


def _tokens(text: str) -> int:
    return len(str(text).split())  # a crude count; tests only need it consistent


class FakeOpenAIServer:
    """OpenAI-compatible server on 127.0.0.1 in a background thread (see module doc)."""

    def __init__(self, responder: Responder | None = None, latency: float = 0.0, *,
                 faults: list[str] | None = None, fault_rate: float = 0.0,
                 fault_kinds: tuple[str, ...] = ("500",), seed: int = 0,
                 retry_after: float = 0.05, timeout_delay: float = 3.0, slow_delay: float = 0.3,
                 model: str = "fake-model", port: int = 0):
        self.responder = responder or default_responder
        self.latency = latency
        self.retry_after, self.timeout_delay, self.slow_delay = retry_after, timeout_delay, slow_delay
        self.model = model
        self._lock = threading.Lock()
        self._faults: deque[str] = deque()
        self._rng = random.Random(seed)
        self._rate, self._kinds = 0.0, ("500",)
        self._stopping = threading.Event()
        self._requests: list[dict] = []
        self.counts: Counter = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.queue_faults(*(faults or []))
        self.set_fault_rate(fault_rate, fault_kinds)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "FakeOpenAIServer":
        """Serve in a daemon thread; returns self."""
        # A short poll interval makes stop() quick (shutdown waits for one poll).
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True, name="fake-openai")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes requests waiting in a timeout or slow fault."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- runtime control -----------------------------------------------------
    def queue_faults(self, *kinds: str) -> None:
        """Apply these faults, in order, to the next chat requests."""
        for k in kinds:
            if k not in FAULTS:
                raise ValueError(f"unknown fault {k!r}; choose from {FAULTS}")
        with self._lock:
            self._faults.extend(kinds)

    def set_fault_rate(self, rate: float, kinds: tuple[str, ...] | None = None,
                       seed: int | None = None) -> None:
        """Inject a fault into each chat request with probability `rate` (seeded RNG)."""
        for k in kinds or ():
            if k not in FAULTS:
                raise ValueError(f"unknown fault {k!r}; choose from {FAULTS}")
        with self._lock:
            self._rate = rate
            self._kinds = tuple(kinds or self._kinds)
            if seed is not None:
                self._rng = random.Random(seed)

    @property
    def requests(self) -> list[dict]:
        """A copy of every request seen: path, body, headers, fault, time."""
        with self._lock:
            return list(self._requests)

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self._rate and self._rng.random() < self._rate:
                return self._rng.choice(self._kinds)
            return None

    def _record(self, path: str, body: Any, headers: dict, fault: str | None) -> None:
        hdrs = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "api-key")}
        with self._lock:
            self._requests.append({"path": path, "body": body, "headers": hdrs, "fault": fault,
                                   "time": time.time()})
            self.counts["requests"] += 1
            if fault:
                self.counts[f"fault:{fault}"] += 1

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    # -- responses -----------------------------------------------------------
    def completion(self, body: dict, malformed: bool = False) -> dict:
        """The chat.completion object for `body` (the responder decides the content)."""
        out = "Sure! Here is what you asked for: {not json" if malformed else self.responder(body)
        content, calls = (out.get("content"), out.get("tool_calls") or []) \
            if isinstance(out, dict) else (out, [])
        msg: dict = {"role": "assistant", "content": content}
        if calls:
            msg["tool_calls"] = [
                {"id": f"call_{i}", "type": "function",
                 "function": {"name": c["name"], "arguments": c["arguments"]
                              if isinstance(c["arguments"], str) else json.dumps(c["arguments"])}}
                for i, c in enumerate(calls)]
        prompt = sum(_tokens(m.get("content") or "") for m in body.get("messages", []))
        done = _tokens(content or "") + sum(_tokens(c["function"]["arguments"])
                                            for c in msg.get("tool_calls", []))
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model") or self.model,
                "choices": [{"index": 0, "message": msg, "logprobs": None,
                             "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": done,
                          "total_tokens": prompt + done}}


def _chunks(comp: dict) -> list[dict]:
    """Split a chat.completion into chat.completion.chunk events (content word by word)."""
    base = {k: comp[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    choice, msg = comp["choices"][0], comp["choices"][0]["message"]

    def ev(delta: dict, finish=None) -> dict:
        return base | {"choices": [{"index": 0, "delta": delta, "logprobs": None,
                                    "finish_reason": finish}]}

    out = [ev({"role": "assistant", "content": ""})]
    text = msg.get("content") or ""
    pieces = [w + " " for w in text.split(" ")]
    pieces[-1] = pieces[-1][:-1]
    out += [ev({"content": p}) for p in pieces if p]
    for i, call in enumerate(msg.get("tool_calls", [])):
        out.append(ev({"tool_calls": [{"index": i, **call}]}))
    out.append(ev({}, choice["finish_reason"]))
    return out


def _make_handler(srv: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _json(self, code: int, obj: dict, extra: dict | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, code: int, message: str, kind: str, extra: dict | None = None) -> None:
            self._json(code, {"error": {"message": message, "type": kind, "code": None,
                                        "param": None}}, extra)

        def do_GET(self) -> None:
            srv._record(self.path, None, dict(self.headers), None)
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [
                    {"id": srv.model, "object": "model", "created": 0, "owned_by": "fake"}]})
            else:
                self._error(404, f"no route GET {self.path}", "not_found")

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                srv._record(self.path, None, dict(self.headers), None)
                return self._error(404, f"no route POST {self.path}", "not_found")
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                srv._record(self.path, None, dict(self.headers), None)
                return self._error(400, "request body is not JSON", "invalid_request_error")
            fault = srv._next_fault()
            srv._record(self.path, body, dict(self.headers), fault)
            srv._enter()
            try:
                self._chat(body, fault)
            finally:
                srv._leave()

        def _chat(self, body: dict, fault: str | None) -> None:
            with srv._lock:
                srv.counts["chat"] += 1
            delay = srv.latency + (srv.slow_delay if fault == "slow" else 0.0)
            if delay and srv._stopping.wait(delay):
                return
            if fault == "429":
                return self._error(429, "Rate limit reached (fake)", "rate_limit_exceeded",
                                   {"Retry-After": f"{srv.retry_after:g}",
                                    "retry-after-ms": str(int(srv.retry_after * 1000))})
            if fault == "500":
                return self._error(500, "Internal server error (fake)", "server_error")
            if fault == "timeout":
                srv._stopping.wait(srv.timeout_delay)
                self.close_connection = True
                return
            comp = srv.completion(body, malformed=fault == "malformed")
            if fault == "truncated":
                data = json.dumps(comp).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.close_connection = True
                return
            if body.get("stream"):
                return self._stream(body, comp)
            self._json(200, comp)

        def _stream(self, body: dict, comp: dict) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")  # no chunked encoding: end = close
            self.end_headers()
            events = _chunks(comp)
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append({k: comp[k] for k in ("id", "created", "model")}
                              | {"object": "chat.completion.chunk", "choices": [],
                                 "usage": comp["usage"]})
            for e in events:
                self.wfile.write(f"data: {json.dumps(e)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler
