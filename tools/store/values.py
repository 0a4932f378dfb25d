"""Turn a caller's row into a validated, redacted, JSON-ready spool record.

Validation happens here, at record time, so a bad row fails in the caller's
hands with a clear message and never reaches the spool (where it would only be
found later, by someone else's query).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, datetime, timezone
from typing import Any

from tools.redact import redact
from tools.store.errors import StoreError
from tools.store.migrations import SCHEMA, UPSERT_TABLES


def now_utc() -> str:
    """Current UTC time as a naive ISO string (the store's TIMESTAMPs are UTC)."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat()


def _redact_tree(value: Any, secrets: list[str]) -> Any:
    # Redact each string inside the object, so JSON escaping can't hide a secret.
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact(str(k), secrets): _redact_tree(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_tree(v, secrets) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Pydantic models and other objects to plain JSON-able values."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def _json_default(value: Any) -> Any:
    # Common non-JSON values in model dumps; anything else is a caller bug, said clearly.
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _timestamp(value: Any, where: str) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise StoreError(f"{where} expects an ISO timestamp, got {value!r}") from None
    if not isinstance(value, datetime):
        raise StoreError(f"{where} expects a datetime or ISO string, got {type(value).__name__}")
    if value.tzinfo is not None:  # store UTC, naive
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat()


def _coerce(value: Any, kind: str, where: str, secrets: list[str]) -> Any:
    if value is None:
        return None
    if kind == "JSON":
        try:
            text = json.dumps(_redact_tree(_plain(value), secrets), default=_json_default)
        except (TypeError, ValueError) as e:
            raise StoreError(f"{where} must be JSON-serialisable: {e}") from None
        return text
    if kind == "VARCHAR":
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise StoreError(f"{where} expects text, got {type(value).__name__} {value!r:.60}")
        return redact(value, secrets)
    if kind == "INTEGER":
        if isinstance(value, bool) or not isinstance(value, int):
            raise StoreError(f"{where} expects an integer, got {type(value).__name__} {value!r:.60}")
        return value
    if kind == "DOUBLE":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StoreError(f"{where} expects a number, got {type(value).__name__} {value!r:.60}")
        return float(value)
    if kind == "BOOLEAN":
        if not isinstance(value, bool):
            raise StoreError(f"{where} expects true/false, got {type(value).__name__} {value!r:.60}")
        return value
    if kind == "TIMESTAMP":
        return _timestamp(value, where)
    raise StoreError(f"{where}: unsupported column type {kind}")  # schema bug, not user input


def prepare(table: str, row: Any, secrets: list[str]) -> dict:
    """Validate `row` against the schema of `table` and return the record to spool.

    Fills `id` (uuid4 hex) and `created_at` (and `updated_at` for upsert tables)
    when missing. Raises StoreError naming the table/column on any mismatch.
    """
    columns = SCHEMA.get(table)
    if columns is None:
        raise StoreError(f"unknown table {table!r}; the store has: {', '.join(SCHEMA)}")
    row = _plain(row)
    if not isinstance(row, dict):
        raise StoreError(f"a row for {table!r} must be a dict, got {type(row).__name__}")
    unknown = [k for k in row if k not in columns]
    if unknown:
        raise StoreError(f"unknown column(s) {', '.join(map(repr, unknown))} for table "
                         f"{table!r}; its columns are: {', '.join(columns)}")
    out = {c: _coerce(v, columns[c], f"{table}.{c}", secrets) for c, v in row.items()}
    if not out.get("id"):
        out["id"] = uuid.uuid4().hex
    stamp = now_utc()
    if not out.get("created_at"):
        out["created_at"] = stamp
    if table in UPSERT_TABLES and not out.get("updated_at"):
        out["updated_at"] = stamp
    return out
