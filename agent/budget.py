"""What a session has spent, read from the store's call log (survives restarts)."""

from __future__ import annotations

import time


def spent(store, session_id: str, started_at: float | None, client=None) -> dict:
    """Paid LLM calls and tokens for the session, and minutes since it started."""
    calls = tokens = 0
    if store is not None:
        row = store.query(
            "SELECT count(*) AS calls, coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens "
            "FROM llm_calls WHERE session_id = ? AND NOT coalesce(cache_hit, false)", [session_id])[0]
        calls, tokens = int(row["calls"]), int(row["tokens"])
    elif client is not None:
        calls = client.usage["calls"]
        tokens = client.usage["prompt_tokens"] + client.usage["completion_tokens"]
    minutes = (time.time() - started_at) / 60 if started_at else 0.0
    return {"llm_calls": calls, "tokens": tokens, "minutes": round(minutes, 2)}
