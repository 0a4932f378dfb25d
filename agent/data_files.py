"""The session's data on disk: JSONL files under P2M_HOME/runs/<session>/data.

The store records every example for analysis; training and evaluation read
these files (fast, and a killed step finds them as they were).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tools.contracts import Example


def data_dir(settings, session_id: str) -> Path:
    d = Path(settings.runs_dir) / session_id / "data"
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_examples(path: Path, examples: list[Example]) -> Path:
    """Write examples as JSONL atomically (temp file + rename)."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e.model_dump(), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def read_examples(path: Path) -> list[Example]:
    if not path.exists():
        return []
    return [Example.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def sample(rows: list, n: int, seed: int = 0) -> list:
    """A seeded sample of at most n rows, order kept (same rows on every resume)."""
    if len(rows) <= n:
        return list(rows)
    idx = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in idx]


def record(store, session_id: str, round_: int, examples: list[Example]) -> None:
    """Log examples in the store (no-op without a store)."""
    if store is None or not examples:
        return
    store.record_many("examples", [{
        "session_id": session_id, "round": round_, "input": e.input, "output": e.output,
        "split": e.split, "source": e.source, "teacher": e.teacher, "params": e.params,
        "verdicts": e.verdicts, "accepted": e.accepted} for e in examples])
