"""Move spooled records into DuckDB: idempotent, crash-safe, never stuck on a bad line.

Rows and the new per-file byte offsets are committed in one transaction, and
every table has `id` as primary key with ON CONFLICT handling, so a crash at any
point (even between commit and deleting a finished file) cannot duplicate rows.
A line that can't be stored goes to `_rejected` with the reason, so nothing is
dropped silently and one bad line never blocks the rest.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tools.store.migrations import SCHEMA, UPSERT_TABLES
from tools.store.spool import Chunk, read_chunk, spool_files
from tools.store.values import now_utc

log = logging.getLogger(__name__)
_BATCH = 400  # rows per multi-row INSERT (many-row VALUES is ~15x faster than executemany)


def _insert_sql(table: str, cols: list[str], n: int) -> str:
    col_list = ", ".join(f'"{c}"' for c in cols)
    # No explicit CASTs: DuckDB casts the text to JSON/TIMESTAMP on insert, ~2x faster.
    one = "(" + ", ".join("?" for _ in cols) + ")"
    sql = f'INSERT INTO "{table}" ({col_list}) VALUES ' + ", ".join([one] * n)
    if table in UPSERT_TABLES:
        # Later updates win: fill in non-null fields unless this row is older.
        sets = ", ".join(f'"{c}" = COALESCE(EXCLUDED."{c}", "{table}"."{c}")'
                         for c in cols if c not in ("id", "created_at"))
        return (sql + f' ON CONFLICT (id) DO UPDATE SET {sets} '
                f'WHERE EXCLUDED.updated_at >= "{table}".updated_at')
    return sql + " ON CONFLICT DO NOTHING"


def _dedupe(table: str, rows: list[dict]) -> list[dict]:
    """One row per id (DuckDB can't touch a key twice in one statement)."""
    by_id: dict[str, dict] = {}
    if table in UPSERT_TABLES:
        for r in sorted(rows, key=lambda r: r.get("updated_at") or ""):
            prev = by_id.get(r["id"], {})
            by_id[r["id"]] = {**prev, **{k: v for k, v in r.items() if v is not None},
                              "created_at": prev.get("created_at", r.get("created_at"))}
    else:
        for r in rows:
            by_id.setdefault(r["id"], r)
    return list(by_id.values())


def _insert(conn, table: str, rows: list[dict]) -> None:
    cols = list(SCHEMA[table])
    for i in range(0, len(rows), _BATCH):
        part = rows[i:i + _BATCH]
        conn.execute(_insert_sql(table, cols, len(part)),
                     [r.get(c) for r in part for c in cols])


def _group(chunks: list[Chunk]) -> tuple[dict[str, list[dict]], list[tuple]]:
    """Rows per table, plus rejects (file, offset, line, reason) for malformed records."""
    tables: dict[str, list[dict]] = {}
    rejects = [(c.path.name, off, line, why) for c in chunks for off, line, why in c.rejects]
    for c in chunks:
        for table, row, off in c.records:
            if table not in SCHEMA or not isinstance(row, dict) or not row.get("id") \
                    or set(row) - set(SCHEMA[table]):
                rejects.append((c.path.name, off, str(row)[:2000],
                                f"not a valid row for table {table!r}"))
                continue
            tables.setdefault(table, []).append(row)
    return tables, rejects


def _write(conn, tables, rejects, offsets) -> None:
    for table, rows in tables.items():
        _insert(conn, table, _dedupe(table, rows))
    stamp = now_utc()
    if rejects:
        conn.executemany("INSERT INTO _rejected VALUES (?, ?, ?, ?, ?)",
                         [(*r, stamp) for r in rejects])
    for name, off in offsets.items():
        conn.execute("INSERT INTO _spool_offsets VALUES (?, ?, ?) ON CONFLICT (file) "
                     "DO UPDATE SET byte_offset = EXCLUDED.byte_offset, "
                     "updated_at = EXCLUDED.updated_at", [name, off, stamp])


def _write_row_by_row(conn, tables, rejects, offsets) -> None:
    """Fallback after a failed batch: store what can be stored, reject the rest."""
    for table, rows in tables.items():
        for row in _dedupe(table, rows):
            try:
                _insert(conn, table, [row])
            except Exception as e:  # duckdb raises many types; any failure rejects the row
                rejects.append(("?", -1, str(row)[:2000], f"{table}: {e}"[:500]))
    _write(conn, {}, rejects, offsets)


def ingest(conn, spool_dir: Path) -> int:
    """Ingest every spool file's new complete lines; returns the number of records read."""
    total, more = 0, True
    while more:  # a large backlog is read in bounded chunks
        n, more = _ingest_pass(conn, spool_dir)
        total += n
    return total


def _ingest_pass(conn, spool_dir: Path) -> tuple[int, bool]:
    files = spool_files(spool_dir)
    known = dict(conn.execute("SELECT file, byte_offset FROM _spool_offsets").fetchall())
    chunks = []
    for path in files:
        chunk = read_chunk(path, known.get(path.name, 0))
        if chunk is not None and (chunk.end > chunk.start or chunk.finished):
            chunks.append(chunk)
    present = {p.name for p in files}
    gone = [name for name in known if name not in present]
    if not chunks and not gone:
        return 0, False
    tables, rejects = _group(chunks)
    offsets = {c.path.name: c.end for c in chunks}
    conn.execute("BEGIN TRANSACTION")
    try:
        _write(conn, tables, rejects, offsets)
        if gone:  # offsets of files deleted by an earlier pass
            conn.executemany("DELETE FROM _spool_offsets WHERE file = ?", [[g] for g in gone])
        conn.execute("COMMIT")
    except Exception as e:
        conn.execute("ROLLBACK")
        log.warning("batch ingestion failed (%s); retrying row by row", e)
        _write_row_by_row(conn, tables, rejects, offsets)
    if rejects:
        log.warning("%d spool line(s) could not be stored; see the _rejected table",
                    len(rejects))
    for c in chunks:
        if c.finished:
            try:  # all its rows are committed; its offset row is dropped next pass
                os.unlink(c.path)
            except FileNotFoundError:
                pass
    return sum(len(c.records) for c in chunks), any(c.more for c in chunks)
