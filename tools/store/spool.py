"""Per-process append-only spool files: how every process records without the DB lock.

A writer owns one file `<pid>-<random>.jsonl` in the spool directory and holds a
shared `flock` on it for as long as it lives; the kernel drops that lock when the
process dies (even on kill -9), which is how the ingester tells a finished file
from one still being written. Each record is one JSON line written with a single
`write()` on an O_APPEND descriptor, so a crash can tear at most the last line.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROTATE_BYTES = 32 * 1024 * 1024  # start a new file past this, so finished ones get deleted
MAX_READ = 64 * 1024 * 1024  # bytes per file per ingestion pass: bounded memory on a backlog


class SpoolWriter:
    """Appends records for this process; thread-safe and fork-aware."""

    def __init__(self, spool_dir: Path):
        self.dir = Path(spool_dir)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = -1
        self._size = 0
        self.path: Path | None = None

    def _open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        tmp = self.dir / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        # Lock before the file becomes visible under its .jsonl name: an ingester
        # must never see an unlocked empty file and delete it as finished.
        fcntl.flock(fd, fcntl.LOCK_SH)
        self.path = self.dir / f"{name}.jsonl"
        os.rename(tmp, self.path)
        self._fd, self._pid, self._size = fd, os.getpid(), 0

    def _close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)  # releases the flock: the file is now finished
        self._fd = None

    def append(self, records: list[tuple[str, dict]]) -> None:
        """Write (table, row) records as JSON lines, one write() call for all."""
        data = "".join(json.dumps({"t": t, "r": r}, separators=(",", ":")) + "\n"
                       for t, r in records).encode()
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                if self._fd is not None:  # after fork: the parent's file is not ours
                    os.close(self._fd)  # (the parent's copy keeps its lock)
                    self._fd = None
                self._open()
            elif self._size > ROTATE_BYTES:
                self._close()
                self._open()
            view = memoryview(data)
            while view:  # regular files write fully; loop only for safety
                n = os.write(self._fd, view)
                view = view[n:]
            self._size += len(data)

    def close(self) -> None:
        """Release this process's file (it becomes eligible for deletion once ingested)."""
        with self._lock:
            self._close()


_writers: dict[Path, SpoolWriter] = {}
_writers_lock = threading.Lock()


def writer_for(spool_dir: Path) -> SpoolWriter:
    """The process-wide writer for a spool directory (one file per process, not per Store)."""
    key = Path(spool_dir).resolve()
    with _writers_lock:
        w = _writers.get(key)
        if w is None:
            w = _writers[key] = SpoolWriter(key)
        return w


@dataclass
class Chunk:
    """What one ingestion pass read from one spool file."""

    path: Path
    start: int
    end: int  # new offset: after the last complete line (or EOF when finished)
    records: list[tuple[str, dict, int]] = field(default_factory=list)  # table, row, offset
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # offset, line, reason
    finished: bool = False  # writer is gone and everything up to EOF is accounted for
    more: bool = False  # stopped at max_bytes: read again


def spool_files(spool_dir: Path) -> list[Path]:
    """Visible spool files, oldest name first."""
    if not Path(spool_dir).is_dir():
        return []
    return sorted(Path(spool_dir).glob("*.jsonl"))


def _writer_alive(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def read_chunk(path: Path, offset: int, max_bytes: int | None = None) -> Chunk | None:
    """Read complete lines of `path` from `offset`; None if the file vanished.

    A trailing partial line is left for later while its writer lives; once the
    writer is dead it can never be completed, so it is reported as a torn line.
    """
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None
    with f:
        alive = _writer_alive(f.fileno())  # check first: a dead writer can't append after
        f.seek(offset)
        data = f.read(max_bytes or MAX_READ)
        more = bool(f.read(1))
    cut = data.rfind(b"\n") + 1
    chunk = Chunk(path=path, start=offset, end=offset + cut, more=more and cut > 0)
    pos = offset
    for raw in data[:cut].splitlines(keepends=True):
        line = raw.decode("utf-8", errors="replace").strip()
        if line:
            try:
                obj = json.loads(line)
                chunk.records.append((obj["t"], obj["r"], pos))
            except (ValueError, KeyError, TypeError) as e:
                chunk.rejects.append((pos, line[:2000], f"unreadable spool line: {e}"))
        pos += len(raw)
    if not alive and not more:
        tail = data[cut:]
        if tail:
            chunk.rejects.append((chunk.end, tail.decode("utf-8", "replace")[:2000],
                                  "torn last line: the writer died mid-write"))
            chunk.end += len(tail)
        chunk.finished = True
    return chunk
