"""Unit tests for the DuckDB experiment store (tools/store)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tools.settings import Settings
from tools.store import SCHEMA, Store, StoreError
from tools.store.migrations import MIGRATIONS, migrate
from tools.store.spool import spool_files


@pytest.fixture
def store() -> Store:
    return Store(Settings(), lock_timeout=2.0)


def _spool_text(store: Store) -> str:
    return "".join(p.read_text() for p in spool_files(store.spool_dir))


def test_schema_matches_migrations_and_migrations_run_once(store):
    store.ingest()
    for table, columns in SCHEMA.items():
        got = {r["column_name"]: r["column_type"] for r in store.query(f"DESCRIBE {table}")}
        assert got == columns, table
    names = [r["name"] for r in store.query("SELECT name FROM _migrations ORDER BY name")]
    assert names == [fn.__name__ for fn in MIGRATIONS]
    import duckdb

    conn = duckdb.connect(str(store.path))
    try:
        assert migrate(conn) == []  # already applied: nothing runs twice
    finally:
        conn.close()


# The product tables exactly as m001 created them at first release (frozen history).
FIRST_RELEASE = {
    "sessions": ["id", "title", "status", "created_at", "updated_at"],
    "task_specs": ["id", "session_id", "version", "spec", "created_at"],
    "examples": ["id", "session_id", "round", "input", "output", "split", "source", "teacher",
                 "params", "verdicts", "accepted", "created_at"],
    "llm_calls": ["id", "session_id", "purpose", "model", "cache_key", "prompt_tokens",
                  "completion_tokens", "latency_ms", "cost_usd", "cache_hit", "error", "created_at"],
    "runs": ["id", "session_id", "round", "base_model", "model_path", "hyperparameters", "status",
             "result", "created_at", "updated_at"],
    "metrics": ["id", "run_id", "split", "system", "name", "value", "low", "high", "created_at"],
    "events": ["id", "session_id", "run_id", "kind", "payload", "created_at"],
}


def _columns(conn, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(f'DESCRIBE "{table}"').fetchall()}


def test_a_fresh_database_migrated_step_by_step_has_the_expected_schema():
    import duckdb

    conn = duckdb.connect(":memory:")
    MIGRATIONS[0](conn)  # m001 alone: the first release, whatever SCHEMA says today
    assert {t: list(_columns(conn, t)) for t in FIRST_RELEASE} == FIRST_RELEASE
    for fn in MIGRATIONS[1:]:
        fn(conn)
    assert {t: _columns(conn, t) for t in SCHEMA} == SCHEMA


def test_a_later_migration_applies_on_a_fresh_database(monkeypatch):
    """Following the module's instructions (new migration + SCHEMA updated) must work."""
    import duckdb

    from tools.store import migrations

    def m900_example_weight(conn):
        conn.execute('ALTER TABLE "examples" ADD COLUMN "weight" DOUBLE')

    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS + [m900_example_weight])
    monkeypatch.setitem(SCHEMA, "examples", {**SCHEMA["examples"], "weight": "DOUBLE"})
    conn = duckdb.connect(":memory:")
    assert migrations.migrate(conn)[-1] == "m900_example_weight"
    assert _columns(conn, "examples") == SCHEMA["examples"]


def test_record_fills_id_timestamp_and_stores_json(store):
    rid = store.record("examples", {"session_id": "s1", "input": "I was charged twice",
                                    "output": "billing", "params": {"temperature": 0.7},
                                    "verdicts": {"dedup": "ok"}, "accepted": True, "round": 1})
    assert len(rid) == 32 and int(rid, 16) >= 0
    (row,) = store.query("SELECT *, json_extract(params, '$.temperature')::DOUBLE t "
                         "FROM examples")
    assert row["id"] == rid and row["output"] == "billing" and row["round"] == 1
    assert row["t"] == 0.7 and json.loads(row["verdicts"]) == {"dedup": "ok"}
    assert row["created_at"] is not None
    assert store.query("SELECT typeof(params) t FROM examples")[0]["t"] == "JSON"


def test_json_columns_take_models_dates_and_paths(store, tmp_path):
    from datetime import date

    from tools.contracts import TaskSpec

    spec = TaskSpec(instruction="Classify tickets", kind="classification", labels=["a", "b"])
    assert store.save_spec("s1", spec) == 1
    assert store.latest_spec("s1")["labels"] == ["a", "b"]
    store.record("events", {"kind": "k", "payload": {"day": date(2024, 5, 1), "dir": tmp_path}})
    (row,) = store.query("SELECT payload->>'day' d, payload->>'dir' p FROM events")
    assert row == {"d": "2024-05-01", "p": str(tmp_path)}


def test_record_many_keeps_order_and_explicit_ids(store):
    ids = store.record_many("metrics", [{"run_id": "r", "name": "accuracy", "value": 0.9},
                                        {"id": "m2", "run_id": "r", "name": "f1", "value": 1}])
    assert ids[1] == "m2"
    got = {r["id"]: r["value"] for r in store.query("SELECT id, value FROM metrics")}
    assert got == {ids[0]: 0.9, "m2": 1.0}


def test_record_does_not_open_duckdb(store):
    store.record("events", {"kind": "started"})
    assert not store.path.exists()  # cheap: only the spool was touched
    assert "started" in _spool_text(store)


@pytest.mark.parametrize("table,row,needle", [
    ("nope", {"kind": "x"}, "unknown table 'nope'"),
    ("events", {"kind": "x", "colour": "red"}, "unknown column(s) 'colour'"),
    ("examples", {"round": "two"}, "examples.round expects an integer"),
    ("llm_calls", {"cache_hit": "yes"}, "llm_calls.cache_hit expects true/false"),
    ("metrics", {"value": "high"}, "metrics.value expects a number"),
    ("events", {"payload": {"x": object()}}, "events.payload must be JSON-serialisable"),
    ("events", {"created_at": "yesterday"}, "events.created_at expects an ISO timestamp"),
])
def test_bad_rows_are_refused_before_the_spool(store, table, row, needle):
    with pytest.raises(StoreError) as e:
        store.record(table, row)
    assert needle in str(e.value)
    with pytest.raises(StoreError):  # record_many: nothing written if any row is bad
        store.record_many(table, [row])
    assert _spool_text(store) == ""


def test_secrets_are_redacted_before_storage():
    key = "sk-test-0123456789abcdefXYZ"
    store = Store(Settings(openai_api_key="not-a-token-shape-secret"))
    store.record("llm_calls", {"error": "401 for key not-a-token-shape-secret"})
    store.record("events", {"kind": "call", "payload": {"headers": {"auth": f"Bearer {key}"},
                                                         "list": ["not-a-token-shape-secret"]}})
    assert "not-a-token-shape-secret" not in _spool_text(store) and key not in _spool_text(store)
    dump = json.dumps(store.query("SELECT error, payload FROM llm_calls, events"), default=str)
    assert "[REDACTED]" in dump and key not in dump and "not-a-token-shape" not in dump


def test_upsert_session_later_update_wins(store):
    store.upsert_session("s1", title="tickets", status="clarifying")
    store.upsert_session("s1", status="training")
    first = store.query("SELECT * FROM sessions")[0]
    store.upsert_session("s1", status="done")
    # An older update arriving late (another process's spool) must not win.
    store.record("sessions", {"id": "s1", "status": "stale", "updated_at": "2000-01-01T00:00:00"})
    (row,) = store.query("SELECT * FROM sessions")
    assert (row["title"], row["status"]) == ("tickets", "done")
    assert first["status"] == "training" and row["created_at"] == first["created_at"]
    assert row["updated_at"] > first["updated_at"]


def test_runs_update_in_place(store):
    rid = store.record("runs", {"session_id": "s1", "status": "training", "round": 1})
    store.record("runs", {"id": rid, "status": "done", "result": {"accuracy": 0.91}})
    (row,) = store.query("SELECT * FROM runs")
    assert row["status"] == "done" and row["round"] == 1
    assert json.loads(row["result"]) == {"accuracy": 0.91}


def test_save_spec_versions_and_latest_spec(store):
    assert store.latest_spec("s1") is None
    assert store.save_spec("s1", {"instruction": "a"}) == 1
    assert store.save_spec("s1", {"instruction": "b", "labels": ["x"]}) == 2
    assert store.save_spec("s2", {"instruction": "c"}) == 1
    assert store.latest_spec("s1") == {"instruction": "b", "labels": ["x"]}
    assert Store(Settings()).latest_spec("s2") == {"instruction": "c"}


@pytest.mark.parametrize("sql,needle", [
    ("INSERT INTO events (id) VALUES ('x')", "INSERT statement"),
    ("DROP TABLE events", "DROP statement"),
    ("COPY events TO '/tmp/x.csv'", "COPY statement"),
    ("ATTACH '/tmp/other.duckdb'", "ATTACH statement"),
    ("SELECT 1; DELETE FROM events", "exactly one statement"),
    ("SELEC 1", "could not parse"),
    ("SELECT * FROM read_text('/etc/hostname')", "query failed"),
    ("SELECT * FROM no_such_table", "query failed"),
])
def test_query_readonly_refuses_anything_but_one_read(store, sql, needle):
    store.record("events", {"kind": "keep"})
    with pytest.raises(StoreError) as e:
        store.query_readonly(sql)
    assert needle in str(e.value)
    assert store.query("SELECT count(*) n FROM events")[0]["n"] == 1


def test_query_readonly_reads(store):
    store.record("events", {"kind": "a"})
    assert store.query_readonly("WITH e AS (SELECT * FROM events) SELECT kind FROM e") == [
        {"kind": "a"}]
    assert {"name": "events"} in store.query_readonly("SHOW TABLES")
    assert any(r["column_name"] == "payload" for r in store.query_readonly("DESCRIBE events"))


def test_ingestion_is_idempotent_after_lost_offsets(store):
    ids = store.record_many("events", [{"kind": str(i)} for i in range(5)])
    assert store.ingest() == 5
    # A crash after the rows landed but before the offsets did: same lines again.
    store.query("DELETE FROM _spool_offsets")
    assert store.ingest() == 5
    rows = store.query("SELECT id FROM events")
    assert sorted(r["id"] for r in rows) == sorted(ids)


def test_backlog_is_ingested_in_bounded_chunks(store, monkeypatch):
    from tools.store import spool

    monkeypatch.setattr(spool, "MAX_READ", 300)  # a few lines per read
    ids = store.record_many("events", [{"kind": f"k{i}"} for i in range(25)])
    assert store.ingest() == 25
    assert sorted(r["id"] for r in store.query("SELECT id FROM events")) == sorted(ids)


def test_finished_spool_files_are_deleted_after_ingestion(store):
    from tools.store.spool import writer_for

    store.record("events", {"kind": "a"})
    (path,) = spool_files(store.spool_dir)
    store.ingest()
    assert path.exists()  # still ours: this process may append more
    writer_for(store.spool_dir).close()
    store.ingest()
    assert not path.exists() and store.query("SELECT count(*) n FROM events") == [{"n": 1}]
    store.record("events", {"kind": "b"})  # a fresh file after close
    assert store.query("SELECT count(*) n FROM events") == [{"n": 2}]


def test_torn_and_bad_lines_are_rejected_not_fatal(store):
    store.spool_dir.mkdir(parents=True)
    good = {"t": "events", "r": {"id": "g1", "kind": "ok", "created_at": "2024-01-01T00:00:00"}}
    bad_type = {"t": "examples", "r": {"id": "b1", "round": "not-an-int"}}
    (store.spool_dir / "999-dead.jsonl").write_text(
        "not json\n" + json.dumps(good) + "\n" + json.dumps(bad_type) + "\n"
        + json.dumps({"t": "nope", "r": {"id": "z"}}) + "\n" + '{"t": "events", "r": {"id"')
    store.record("events", {"id": "g2", "kind": "live"})
    assert {r["id"] for r in store.query("SELECT id FROM events")} == {"g1", "g2"}
    reasons = " | ".join(r["reason"] for r in store.query("SELECT reason FROM _rejected"))
    for needle in ("unreadable spool line", "torn last line", "not a valid row", "examples:"):
        assert needle in reasons
    assert store.query("SELECT count(*) n FROM examples")[0]["n"] == 0
    # The dead writer's file is fully accounted for and removed; our live one stays.
    assert len(spool_files(store.spool_dir)) == 1
    assert not (store.spool_dir / "999-dead.jsonl").exists()
    store.ingest()
    assert store.query("SELECT count(*) n FROM _rejected")[0]["n"] == 4  # not re-rejected


def test_corrupt_store_file_gives_clear_error_and_loses_nothing(store):
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(b"this is not a duckdb file" * 100)
    store.record("events", {"kind": "after-corruption"})
    for _ in range(2):  # no crash loop: the same clear error each time
        with pytest.raises(StoreError) as e:
            store.query("SELECT 1")
        assert str(store.path) in str(e.value) and "Move it aside" in str(e.value)
    store.path.rename(store.path.with_name("p2m.duckdb.bad"))
    assert store.query("SELECT kind FROM events") == [{"kind": "after-corruption"}]


def test_foreign_lock_times_out_clearly_then_recovers(store):
    store.ingest()  # create the file
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys\n"
         f"c = duckdb.connect({str(store.path)!r})\nprint('ready', flush=True)\n"
         "sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        store.record("events", {"kind": "while-locked"})
        blocked = Store(Settings(), lock_timeout=0.3)
        with pytest.raises(StoreError) as e:
            blocked.query_readonly("SELECT * FROM events")
        assert "locked by another process" in str(e.value) and str(store.path) in str(e.value)
    finally:
        holder.communicate("\n", timeout=30)
    assert store.query("SELECT kind FROM events") == [{"kind": "while-locked"}]


def test_cli_sql_command():
    from typer.testing import CliRunner

    from ui.cli import app

    Store(Settings()).record("examples", {"input": "a", "output": "b", "split": "test"})
    runner = CliRunner()
    res = runner.invoke(app, ["sql", "SELECT split, count(*) AS n FROM examples GROUP BY 1",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == [{"split": "test", "n": 1}]
    res = runner.invoke(app, ["sql", "SELECT input FROM examples"])
    assert res.exit_code == 0 and "a" in res.stdout
    res = runner.invoke(app, ["sql", "SELECT * FROM examples WHERE split = 'train'"])
    assert res.exit_code == 0 and "(no rows)" in res.stdout
    res = runner.invoke(app, ["sql", "DELETE FROM examples"])
    assert res.exit_code == 2 and "only read queries" in res.output
