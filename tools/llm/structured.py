"""Structured output you can trust: ask for a schema, validate, retry with the error.

Three request styles, because servers differ (FACTS.md):
- `json_schema`: response_format with the JSON schema. OpenAI and llama.cpp's
  server (our embedded xllamacpp) honour it; llama.cpp turns it into a grammar.
- `function_calling`: a forced tool call. llama-cpp-python's server needs this.
- `json_mode`: response_format json_object plus the schema in the prompt.

Whatever the style, the reply is validated with pydantic. A reply that fails is
sent back with the validation error and the model tries again, up to `retries`
times; every failure is recorded as an event. Nothing returns a silent None:
after the last attempt `StructuredOutputError` says what went wrong.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from tools.llm.errors import StructuredOutputError
from tools.llm.messages import Messages, normalize

if TYPE_CHECKING:  # the client calls into this module; a runtime import would be a circle
    from tools.llm.client import LLMClient

METHODS = ("json_schema", "function_calling", "json_mode")

RETRY_PROMPT = (
    "Your last reply could not be used: {error}\n"
    "Reply again with only a JSON object that matches the schema."
)


@functools.lru_cache(maxsize=512)
def cached_json_schema(schema: type[BaseModel]) -> dict:
    """`schema`'s JSON schema, built once per class: pydantic takes ~1 ms per build, which a
    synthetic round paid twice per request. Callers must not mutate the returned dict."""
    return schema.model_json_schema()


def request_options(schema: type[BaseModel], method: str) -> dict:
    """The request options (bound to the model) that ask for `schema`."""
    name = schema.__name__
    js = cached_json_schema(schema)
    if method == "json_schema":
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": name, "schema": js, "strict": False}}}
    if method == "function_calling":
        tool = {"type": "function", "function": {
            "name": name, "description": (schema.__doc__ or name).strip(), "parameters": js}}
        return {"tools": [tool], "tool_choice": {"type": "function", "function": {"name": name}}}
    if method == "json_mode":
        return {"response_format": {"type": "json_object"}}
    raise ValueError(f"unknown structured-output method {method!r}; use one of {METHODS}")


def _schema_hint(schema: type[BaseModel]) -> tuple[str, str]:
    return ("system", "Reply with a JSON object matching this JSON schema:\n"
            + json.dumps(cached_json_schema(schema)))


def _short(err: ValidationError | str) -> str:
    if isinstance(err, str):
        return err
    parts = [f"{'.'.join(str(x) for x in e['loc']) or 'reply'}: {e['msg']}" for e in err.errors()[:5]]
    return "; ".join(parts)


def ask_structured(client: LLMClient, messages: Messages, schema: type[BaseModel], *,
                   purpose: str, temperature: float = 0.0, max_tokens: int = 512,
                   retries: int = 2, method: str | None = None, use_cache: bool = True,
                   seed: int | None = None):
    """Ask `client` for an instance of `schema`; validate and retry with feedback.

    `seed` makes deliberate re-samples of one prompt distinct requests (and cache entries).
    Raises `StructuredOutputError` after `retries + 1` invalid replies, and
    `LLMError` when the endpoint itself fails.
    """
    method = method or client.settings.structured_method
    msgs = normalize(messages)
    if method == "json_mode":
        msgs = [dict(zip(("role", "content"), _schema_hint(schema)))] + msgs
    options = request_options(schema, method)
    last_raw, last_error = None, ""
    for attempt in range(retries + 1):
        reply = client.invoke(msgs, purpose=purpose, temperature=temperature,
                              max_tokens=max_tokens, bind=options, seed=seed,
                              schema=cached_json_schema(schema), use_cache=use_cache)
        raw = json.dumps(reply["tool_args"]) if reply.get("tool_args") is not None else reply["content"]
        try:
            return schema.model_validate_json(_strip_fences(raw))
        except ValidationError as e:
            last_error = _short(e)
            if reply.get("finish_reason") == "length":
                last_error = f"the reply was cut off at {max_tokens} tokens; be more concise ({last_error})"
        last_raw = raw
        _record_failure(client, purpose, schema.__name__, attempt, last_error, raw)
        msgs = msgs + [{"role": "assistant", "content": raw[:2000]},
                       {"role": "user", "content": RETRY_PROMPT.format(error=last_error)}]
    raise StructuredOutputError(
        f"The model {client.model_name!r} gave no valid {schema.__name__} in {retries + 1} "
        f"attempts (last problem: {last_error}). A stronger model (OPENAI_BASE_URL, P2M_MODEL) "
        "usually fixes this.", attempts=retries + 1, last_reply=last_raw)


def _strip_fences(raw: str) -> str:
    """Models often wrap JSON in ```json fences; the JSON inside is what counts."""
    s = (raw or "").strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1] if "\n" in s else ""
        s = s.rsplit("```", 1)[0]
    return s.strip()


def _record_failure(client: LLMClient, purpose: str, schema: str, attempt: int,
                    error: str, raw: str) -> None:
    client.count(structured_failures=1)
    if client.store is not None:
        client.store.record("events", {
            "session_id": client.session_id, "kind": "structured_output_invalid",
            "payload": {"purpose": purpose, "schema": schema, "attempt": attempt,
                        "error": error[:500], "reply": (raw or "")[:500]},
        })
