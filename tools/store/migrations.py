"""The store's schema, grown by numbered migration functions (simonw/llm style).

Each migration runs once and is recorded by name in `_migrations`. A migration
is frozen history: its DDL is literal text, never built from `SCHEMA`, so a later
ALTER still applies on a fresh database. Never edit an applied migration: add a
new one, and update `SCHEMA` (what `record()` validates against without opening
the database) to match; a test pins that the migrated database and `SCHEMA` agree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

MIGRATIONS: list[Callable] = []
migration = MIGRATIONS.append

# table -> {column: DuckDB type}: the latest shape, after all migrations.
SCHEMA: dict[str, dict[str, str]] = {
    "sessions": {"id": "VARCHAR", "title": "VARCHAR", "status": "VARCHAR",
                 "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP"},
    "task_specs": {"id": "VARCHAR", "session_id": "VARCHAR", "version": "INTEGER",
                   "spec": "JSON", "created_at": "TIMESTAMP"},
    "examples": {"id": "VARCHAR", "session_id": "VARCHAR", "round": "INTEGER",
                 "input": "VARCHAR", "output": "VARCHAR", "split": "VARCHAR",
                 "source": "VARCHAR", "teacher": "VARCHAR", "params": "JSON",
                 "verdicts": "JSON", "accepted": "BOOLEAN", "created_at": "TIMESTAMP"},
    "llm_calls": {"id": "VARCHAR", "session_id": "VARCHAR", "purpose": "VARCHAR",
                  "model": "VARCHAR", "cache_key": "VARCHAR", "prompt_tokens": "INTEGER",
                  "completion_tokens": "INTEGER", "latency_ms": "DOUBLE",
                  "cost_usd": "DOUBLE", "cache_hit": "BOOLEAN", "error": "VARCHAR",
                  "created_at": "TIMESTAMP"},
    "runs": {"id": "VARCHAR", "session_id": "VARCHAR", "round": "INTEGER",
             "base_model": "VARCHAR", "model_path": "VARCHAR", "hyperparameters": "JSON",
             "status": "VARCHAR", "result": "JSON", "created_at": "TIMESTAMP",
             "updated_at": "TIMESTAMP"},
    "metrics": {"id": "VARCHAR", "run_id": "VARCHAR", "split": "VARCHAR",
                "system": "VARCHAR", "name": "VARCHAR", "value": "DOUBLE", "low": "DOUBLE",
                "high": "DOUBLE", "created_at": "TIMESTAMP"},
    "events": {"id": "VARCHAR", "session_id": "VARCHAR", "run_id": "VARCHAR",
               "kind": "VARCHAR", "payload": "JSON", "created_at": "TIMESTAMP"},
}

# Tables whose rows are keyed by id with "later update wins" semantics: a second
# record() with the same id updates the non-null fields if its updated_at is not
# older. Every other table is append-only (a repeated id is ignored).
UPSERT_TABLES = ("sessions", "runs")


@migration
def m001_initial(conn):
    """The seven product tables as they were at first release (literal DDL, frozen)."""
    for ddl in (
        'CREATE TABLE IF NOT EXISTS "sessions" ("id" VARCHAR PRIMARY KEY, "title" VARCHAR, '
        '"status" VARCHAR, "created_at" TIMESTAMP, "updated_at" TIMESTAMP)',
        'CREATE TABLE IF NOT EXISTS "task_specs" ("id" VARCHAR PRIMARY KEY, "session_id" VARCHAR, '
        '"version" INTEGER, "spec" JSON, "created_at" TIMESTAMP)',
        'CREATE TABLE IF NOT EXISTS "examples" ("id" VARCHAR PRIMARY KEY, "session_id" VARCHAR, '
        '"round" INTEGER, "input" VARCHAR, "output" VARCHAR, "split" VARCHAR, "source" VARCHAR, '
        '"teacher" VARCHAR, "params" JSON, "verdicts" JSON, "accepted" BOOLEAN, '
        '"created_at" TIMESTAMP)',
        'CREATE TABLE IF NOT EXISTS "llm_calls" ("id" VARCHAR PRIMARY KEY, "session_id" VARCHAR, '
        '"purpose" VARCHAR, "model" VARCHAR, "cache_key" VARCHAR, "prompt_tokens" INTEGER, '
        '"completion_tokens" INTEGER, "latency_ms" DOUBLE, "cost_usd" DOUBLE, '
        '"cache_hit" BOOLEAN, "error" VARCHAR, "created_at" TIMESTAMP)',
        'CREATE TABLE IF NOT EXISTS "runs" ("id" VARCHAR PRIMARY KEY, "session_id" VARCHAR, '
        '"round" INTEGER, "base_model" VARCHAR, "model_path" VARCHAR, "hyperparameters" JSON, '
        '"status" VARCHAR, "result" JSON, "created_at" TIMESTAMP, "updated_at" TIMESTAMP)',
        'CREATE TABLE IF NOT EXISTS "metrics" ("id" VARCHAR PRIMARY KEY, "run_id" VARCHAR, '
        '"split" VARCHAR, "system" VARCHAR, "name" VARCHAR, "value" DOUBLE, "low" DOUBLE, '
        '"high" DOUBLE, "created_at" TIMESTAMP)',
        'CREATE TABLE IF NOT EXISTS "events" ("id" VARCHAR PRIMARY KEY, "session_id" VARCHAR, '
        '"run_id" VARCHAR, "kind" VARCHAR, "payload" JSON, "created_at" TIMESTAMP)',
    ):
        conn.execute(ddl)


@migration
def m002_ingestion_bookkeeping(conn):
    """Byte offsets per spool file, and spool lines that could not be stored."""
    conn.execute("CREATE TABLE IF NOT EXISTS _spool_offsets ("
                 "file VARCHAR PRIMARY KEY, byte_offset BIGINT, updated_at TIMESTAMP)")
    conn.execute("CREATE TABLE IF NOT EXISTS _rejected ("
                 "file VARCHAR, byte_offset BIGINT, line VARCHAR, reason VARCHAR, "
                 "created_at TIMESTAMP)")


def migrate(conn) -> list[str]:
    """Apply pending migrations in order; returns the names applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations "
                 "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    done = {r[0] for r in conn.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            fn(conn)
            conn.execute("INSERT INTO _migrations VALUES (?, ?)",
                         [fn.__name__, datetime.now(timezone.utc).replace(tzinfo=None)])
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        applied.append(fn.__name__)
    return applied
