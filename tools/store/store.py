"""The experiment store: DuckDB for queries, per-process spool files for writes.

DuckDB lets one process open a file at a time (a second one fails at once, even
read-only), yet the web UI, Slack bot, CLI and a training subprocess all record
at once. So `record()` only appends a JSON line to this process's spool file
(cheap, never blocks on the database), and whoever queries first ingests every
spool file into DuckDB under an inter-process lock (flock on `<store>.lock`),
connect-write-close, retrying with backoff while a foreign process holds
DuckDB's own lock.

Timestamps are stored as UTC (naive TIMESTAMP); JSON columns come back from
`query()` as JSON text (use `json.loads`, or `->>` in SQL).

Sessions and runs are keyed by id with "later update wins" semantics: record
them again with the same id (e.g. `upsert_session`) and the non-null fields of
the newest row (by `updated_at`) win. All other tables are append-only.

    store = Store(get_settings())
    store.upsert_session("s1", title="tickets", status="clarifying")
    store.record("examples", {"session_id": "s1", "input": "x", "output": "y"})
    store.query("SELECT split, count(*) n FROM examples GROUP BY 1")
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import duckdb

from tools.store.errors import StoreError, damaged_store
from tools.store.ingest import ingest
from tools.store.migrations import migrate
from tools.store.spool import writer_for
from tools.store.values import prepare

_READ_STATEMENTS = {"SELECT", "EXPLAIN"}  # DESCRIBE/SHOW/SUMMARIZE/FROM/VALUES parse as SELECT
_thread_locks: dict[str, threading.Lock] = {}  # flock alone is per-fd; serialise threads too
_thread_locks_guard = threading.Lock()


class Store:
    """Record rows from any process; query them with SQL."""

    def __init__(self, settings, lock_timeout: float = 10.0):
        """`lock_timeout`: seconds to keep retrying while another process holds the DB."""
        self.path = Path(settings.store_path)
        self.spool_dir = Path(settings.spool_dir)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout = lock_timeout
        self._secrets = sorted(settings.secrets(), key=len, reverse=True)  # once per Store
        with _thread_locks_guard:
            self._tlock = _thread_locks.setdefault(str(self.lock_path), threading.Lock())

    # -- writing (any process, never touches DuckDB) ---------------------------------

    def record(self, table: str, row: dict) -> str:
        """Spool one row for `table`; returns its id (generated uuid4 hex if missing)."""
        return self.record_many(table, [row])[0]

    def record_many(self, table: str, rows: list[dict]) -> list[str]:
        """Spool rows for `table` in one write; all are validated before any is written."""
        prepared = [prepare(table, r, self._secrets) for r in rows]
        if prepared:
            writer_for(self.spool_dir).append([(table, r) for r in prepared])
        return [r["id"] for r in prepared]

    def upsert_session(self, id: str, title: str | None = None,
                       status: str | None = None) -> str:
        """Create or update a session; fields left None keep their stored value."""
        row = {"id": id, "title": title, "status": status}
        return self.record("sessions", {k: v for k, v in row.items() if v is not None})

    # -- reading (ingests the spool first) -------------------------------------------

    def query(self, sql: str, params: list | dict | None = None) -> list[dict]:
        """Ingest pending rows, then run `sql` and return rows as dicts."""
        with self._connect() as conn:
            try:
                cur = conn.execute(sql, params) if params is not None else conn.execute(sql)
                return _rows(cur)
            except duckdb.Error as e:
                raise StoreError(f"query failed: {e}") from None

    def query_readonly(self, sql: str, timeout_s: float | None = 60.0) -> list[dict]:
        """Run one read statement (SELECT/WITH/DESCRIBE/SHOW/EXPLAIN) for a user.

        The query runs on a snapshot: pending rows are ingested and the file copied
        under the store's lock, then the lock is released, so a slow query never
        blocks writers or the agent (the copy needs the store's size in free space
        for the query's duration). The copy is opened read-only with external file
        access disabled, so a query can neither change the store nor read other
        files; it is stopped after `timeout_s` seconds (None: no limit).
        """
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as e:
            raise StoreError(f"could not parse the query: {e}") from None
        if len(statements) != 1:
            raise StoreError(f"give exactly one statement (got {len(statements)}); "
                             "the store is read-only here")
        kind = statements[0].type.name
        if kind not in _READ_STATEMENTS:
            raise StoreError(f"only read queries are allowed (SELECT, WITH, DESCRIBE, SHOW, "
                             f"EXPLAIN); this is a {kind} statement")
        with self._snapshot() as copy:
            conn = duckdb.connect(str(copy), read_only=True,
                                  config={"enable_external_access": False})
            timer = threading.Timer(timeout_s, conn.interrupt) if timeout_s else None
            try:
                if timer:
                    timer.start()
                return _rows(conn.execute(sql))
            except duckdb.InterruptException:
                raise StoreError(f"the query ran longer than {timeout_s:g} s and was stopped "
                                 "(p2m sql --timeout SECONDS allows more)") from None
            except duckdb.Error as e:
                raise StoreError(f"query failed: {e}") from None
            finally:
                if timer:
                    timer.cancel()
                conn.close()

    @contextmanager
    def _snapshot(self) -> Iterator[Path]:
        """A private copy of the store, taken under the lock after ingesting; deleted after use."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=".sql-snapshot-", dir=self.path.parent))
        try:
            with self._locked():
                self._ingest_locked()
                for src in (self.path, self.path.with_name(self.path.name + ".wal")):
                    if src.exists():
                        shutil.copyfile(src, folder / src.name)
            yield folder / self.path.name
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def ingest(self) -> int:
        """Move spooled rows into DuckDB now; returns the number of records read."""
        with self._locked():
            return self._ingest_locked()

    def save_spec(self, session_id: str, spec: dict) -> int:
        """Store a new version of a session's TaskSpec; returns that version (1, 2, ...)."""
        with self._connect() as conn:  # the lock makes max+1 safe across processes
            (top,) = conn.execute("SELECT coalesce(max(version), 0) FROM task_specs "
                                  "WHERE session_id = ?", [session_id]).fetchone()
            version = top + 1
            self.record("task_specs", {"session_id": session_id, "version": version,
                                       "spec": spec})
            self._migrate_and_ingest(conn)
        return version

    def latest_spec(self, session_id: str) -> dict | None:
        """The newest TaskSpec dict saved for a session, or None."""
        rows = self.query("SELECT spec FROM task_specs WHERE session_id = ? "
                          "ORDER BY version DESC LIMIT 1", [session_id])
        return json.loads(rows[0]["spec"]) if rows else None

    # -- plumbing ---------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's inter-process lock (and this process's thread lock)."""
        deadline = time.monotonic() + self.lock_timeout
        if not self._tlock.acquire(timeout=self.lock_timeout):
            raise StoreError(f"timed out after {self.lock_timeout:.0f}s waiting for another "
                             f"thread using {self.path}")
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                _flock_until(fd, deadline, self.lock_path)
                yield
            finally:
                os.close(fd)  # releases the flock
        finally:
            self._tlock.release()

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        """Lock, open read-write, ingest, yield the connection, close."""
        with self._locked():
            conn = self._open(read_only=False)
            try:
                self._migrate_and_ingest(conn)
                yield conn
            finally:
                conn.close()

    def _ingest_locked(self) -> int:
        conn = self._open(read_only=False)
        try:
            return self._migrate_and_ingest(conn)
        finally:
            conn.close()

    def _migrate_and_ingest(self, conn) -> int:
        try:
            migrate(conn)
            return ingest(conn, self.spool_dir)
        except duckdb.Error as e:  # e.g. a file damaged past its header
            raise damaged_store(self.path, self.spool_dir, str(e)) from None

    def _open(self, read_only: bool):
        """Open DuckDB, retrying with backoff while a foreign process holds its lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config = {"enable_external_access": False} if read_only else {}
        deadline, wait = time.monotonic() + self.lock_timeout, 0.02
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only, config=config)
            except duckdb.Error as e:
                msg = str(e)
                if not _held_by_another_process(msg):
                    raise damaged_store(self.path, self.spool_dir, msg) from None
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"the store file {self.path} is locked by another process "
                        f"({msg}). Its rows stay in {self.spool_dir} and are stored on a "
                        f"later query; close the other program (e.g. a duckdb shell) "
                        f"or retry.") from None
                time.sleep(wait)
                wait = min(wait * 2, 0.5)


def _held_by_another_process(msg: str) -> bool:
    """DuckDB's "Could not set lock on file ...: Conflicting lock is held" (not "... in block at")."""
    return "Conflicting lock" in msg or "Could not set lock" in msg


def _flock_until(fd: int, deadline: float, path: Path) -> None:
    wait = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreError(f"timed out waiting for the store lock {path}: another "
                                 f"p2m process is using the store (storing rows, or copying "
                                 f"it for `p2m sql`); retry in a moment") from None
            time.sleep(wait)
            wait = min(wait * 2, 0.1)


def _rows(cur) -> list[dict]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


__all__ = ["Store", "StoreError"]
