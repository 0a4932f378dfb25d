"""Content-addressed cache of LLM replies.

The key hashes everything that decides a reply: the messages, the model, the
sampling parameters and the requested schema. Editing a prompt therefore
invalidates exactly the calls it changes (Curator's habit), and a crash,
restart or re-run never pays twice for the same call.

One JSON file per key, written to a temp file and renamed into place: a reader
sees either nothing or a whole entry, so any number of processes can share it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_key(messages: list[dict], model: str, params: dict, schema: dict | None = None) -> str:
    """Stable hash of one request; `seed` in params separates deliberate re-samples."""
    blob = json.dumps(
        {"messages": messages, "model": model, "params": params, "schema": schema},
        sort_keys=True, ensure_ascii=False, default=str,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class LLMCache:
    """A directory of replies keyed by `cache_key`."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None (a torn or unreadable file counts as a miss)."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store an entry atomically (temp file + rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entry, f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0
