"""Chat messages in the one form the client, the cache key and structured output share."""

from __future__ import annotations

from typing import Any, Sequence

Messages = Sequence[Any]  # (role, content) tuples, {"role","content"} dicts or BaseMessages


def normalize(messages: Messages) -> list[dict]:
    """Messages as plain {"role", "content"} dicts (the cache key's form)."""
    out = []
    for m in messages:
        if isinstance(m, tuple):
            role, content = m
        elif isinstance(m, dict):
            role, content = m["role"], m["content"]
        else:  # a LangChain BaseMessage
            role = {"human": "user", "ai": "assistant"}.get(m.type, m.type)
            content = m.content
        out.append({"role": role, "content": content})
    return out
