"""The local Hub index: records on disk (snapshot + refreshed) and the hybrid index over them.

    records = load_records("datasets", settings)          # snapshot overlaid with refreshed
    index, records, notes = get_index("datasets", records, dataset_text, settings)

Search (search.py, models.py) reads through here and refresh (refresh.py)
writes under `hub_dir`; neither imports the other.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tools.hub.index import Doc, HybridIndex
from tools.hub.snapshot import SNAPSHOT_DIR, load_seed_vectors, read_jsonl_gz

MAX_LIVE_EMBED = 500  # about 5-20 s on 2 cores; more waits for `p2m hub index`


def hub_dir(settings) -> Path:
    """P2M_HOME/hub: caches of refreshed records and dense vectors."""
    return Path(settings.home) / "hub"


def load_records(kind: str, settings, snapshot_dir: Path = SNAPSHOT_DIR) -> list[dict]:
    """Snapshot records overlaid with refreshed ones (same id: the refreshed wins)."""
    by_id = {r["id"]: r for r in read_jsonl_gz(snapshot_dir / f"{kind}.jsonl.gz")}
    refreshed = hub_dir(settings) / f"refreshed_{kind}.jsonl"
    if refreshed.exists():
        for line in refreshed.open(encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                by_id[r["id"]] = {**by_id.get(r["id"], {}), **r}
    return list(by_id.values())


_INDEX_MEMO: dict[str, tuple[HybridIndex, list[dict], list[str]]] = {}


def get_index(kind: str, records: list[dict], text_fn, settings, dense: bool = True,
              snapshot_dir: Path = SNAPSHOT_DIR, max_embed: int = MAX_LIVE_EMBED,
              progress=None):
    """Build (or reuse, within this process) the hybrid index over `records`."""
    key = hashlib.sha1(json.dumps([kind, dense, str(snapshot_dir)] + [
        (r["id"], text_fn(r)) for r in records]).encode()).hexdigest()
    if key in _INDEX_MEMO:
        return _INDEX_MEMO[key]
    index = HybridIndex(hub_dir(settings), kind, dense=dense)
    seed = load_seed_vectors(snapshot_dir / f"{kind}.emb.npz") if dense else None
    stats = index.build([Doc(r["id"], text_fn(r)) for r in records], seed=seed,
                        max_embed=max_embed)
    _INDEX_MEMO.clear()  # one live index per process is plenty
    _INDEX_MEMO[key] = (index, records, stats.notes)
    return _INDEX_MEMO[key]
