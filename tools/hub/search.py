"""Dataset search over the Hub snapshot, refreshed records and local catalogs.

    from tools.hub.search import search_datasets, DatasetFilters
    res = search_datasets("classify questions by answer type", catalogs=["~/data"])
    res.candidates  # list[Candidate], best first; res.notes: what went wrong or was skipped

Records come from `data/hub/` (shipped), P2M_HOME/hub/refreshed_datasets.jsonl
(`p2m hub refresh`) and catalog folders; a catalog entry naming `hub_id`
replaces that Hub record and makes it reachable. Dense vectors: shipped sign
bits for snapshot records, the rest embedded once and cached in P2M_HOME/hub/.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from tools.contracts import Candidate, TaskSpec
from tools.hub.catalog import scan_catalogs
from tools.hub.index import tokenize
from tools.hub.local_index import get_index, load_records
from tools.hub.records import KIND_TASKS, dataset_text
from tools.hub.snapshot import SNAPSHOT_DIR

MAX_QUERY_CHARS = 2000  # a 5,000-word query is cut (noted), not refused
DOWNLOADS_PRIOR = 0.001  # fused-score units per decade of downloads
CATALOG_BONUS = 0.002  # local data the user pointed at is loadable now: rank it up a little
SIZE_ORDER = ["n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M",
              "100M<n<1B", "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T"]


class DatasetFilters(BaseModel):
    """Optional filters; a record missing the field passes (metadata is sparse)."""

    kind: str | None = Field(default=None, description="task kind: classification|extraction|generation")
    language: str | None = None
    licenses: list[str] = Field(default_factory=list, description="allowed license prefixes")
    max_size: str | None = Field(default=None, description="largest size category, e.g. 100K<n<1M")
    min_size: str | None = None
    include_gated: bool = False
    reachable_only: bool = False


class SearchResult(BaseModel):
    """Ranked candidates plus notes (skipped catalogs, cut queries, stale index)."""

    candidates: list[Candidate] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def _size_ok(size: str | None, lo: str | None, hi: str | None) -> bool:
    if not size or size not in SIZE_ORDER:
        return True
    i = SIZE_ORDER.index(size)
    return ((hi is None or hi not in SIZE_ORDER or i <= SIZE_ORDER.index(hi))
            and (lo is None or lo not in SIZE_ORDER or i >= SIZE_ORDER.index(lo)))


def record_passes(r: dict, f: DatasetFilters, online: bool) -> bool:
    """Apply filters; unknown metadata passes so sparse records are not lost."""
    if f.kind and r.get("tasks") and not (set(r["tasks"]) & KIND_TASKS.get(f.kind, set())):
        return False
    if f.language and r.get("languages") and f.language not in r["languages"]:
        return False
    lic = (r.get("license") or "").lower()
    if f.licenses and lic and not any(lic.startswith(x.lower()) for x in f.licenses):
        return False
    if r.get("gated") and not f.include_gated:
        return False
    if f.reachable_only and not (r.get("path") or online):
        return False
    return _size_ok(r.get("size"), f.min_size, f.max_size)


def _candidate(r: dict, score: float, hit, online: bool) -> Candidate:
    why = (r.get("name") + ": " if r.get("name") else "") + (r.get("description") or "")[:160]
    ranks = [f"bm25 #{hit.bm25_rank}" if hit.bm25_rank else "", f"dense #{hit.dense_rank}"
             if hit.dense_rank else ""]
    why = (why or r["id"]) + f" [{', '.join(x for x in ranks if x)}]"
    local = r.get("path")
    return Candidate(kind="dataset", id=r["id"], score=round(score, 5), why=why,
                     size=r.get("size"), license=r.get("license"),
                     reachable=bool(local) or online, location=local or r["id"])


def rank_with_prior(hits, rec_by_id: dict[str, dict]) -> list[tuple[float, object]]:
    """Fused score plus a log-downloads prior; copies with the same description collapse.

    Forks and auto-eval copies share a description; keeping the most downloaded
    one answers Prompt2Model users' complaint about duplicate hits. The prior
    (as Prompt2Model's model retriever uses) lifts maintained datasets over
    empty forks; 0.001 per decade moves a hit a few ranks, never from page 2.
    """
    best: dict[str, tuple[float, object]] = {}
    for h in hits:
        r = rec_by_id[h.id]
        score = h.score + DOWNLOADS_PRIOR * math.log10(1 + (r.get("downloads") or 0))
        if r.get("path"):
            score += CATALOG_BONUS
        key = (r.get("description") or "").strip().lower()[:200] or h.id
        if key not in best or score > best[key][0]:
            best[key] = (score, h)
    return sorted(best.values(), key=lambda x: -x[0])


def search_datasets(query: str, settings=None, catalogs: list[str | Path] = (),
                    filters: DatasetFilters | None = None, k: int = 10,
                    spec: TaskSpec | None = None, client=None, rerank: bool = False,
                    dense: bool = True, snapshot_dir: Path = SNAPSHOT_DIR,
                    live: bool = False, live_timeout: float = 5.0) -> SearchResult:
    """Hybrid search; `spec` fills the query and kind filter; `client` enables LLM rerank.

    `live` (online only) also asks the Hub for datasets matching the query's
    longest words; a Hub error or timeout is a note, local results still come back.
    """
    from tools.settings import get_settings

    settings = settings or get_settings()
    filters = filters or DatasetFilters(kind=spec.kind if spec else None)
    query = (query or (spec.instruction if spec else "")).strip()
    res = SearchResult()
    if not query:
        res.notes.append("empty query: describe the task, e.g. 'classify news headlines by topic'")
        return res
    if len(query) > MAX_QUERY_CHARS:
        res.notes.append(f"query cut to its first {MAX_QUERY_CHARS} characters "
                         f"(was {len(query)})")
        query = query[:MAX_QUERY_CHARS]
    if not tokenize(query):
        res.notes.append("query has no searchable words; matching by meaning only")
    records = load_records("datasets", settings, snapshot_dir)
    if live and not settings.offline:
        from tools.hub.refresh import live_datasets

        fresh, live_notes = live_datasets(tokenize(query), settings, timeout=live_timeout)
        res.notes += live_notes
        known = {r["id"] for r in records}
        records += [r for r in fresh if r["id"] not in known]
    cat_records, cat_notes = scan_catalogs(list(catalogs))
    res.notes += cat_notes
    by_id = {r["id"]: i for i, r in enumerate(records)}
    for c in cat_records:  # a catalog mirror makes the Hub record it names reachable
        if c["id"] in by_id:
            hub = records[by_id[c["id"]]]
            # Hub text stays (curated, and its shipped vector still matches); the
            # catalog adds the path and fills only what the Hub record lacks.
            merged = {**hub, "path": c["path"], "source": "catalog", "hub_id": c["id"]}
            merged.update({x: v for x, v in c.items() if v and not hub.get(x)})
            records[by_id[c["id"]]] = merged
        else:
            by_id[c["id"]] = len(records)
            records.append(c)
    index, records, build_notes = get_index("datasets", records, dataset_text, settings, dense,
                                            snapshot_dir)
    res.notes += build_notes
    online = not settings.offline
    mask = np.array([record_passes(r, filters, online) for r in records])
    rec_by_id = {r["id"]: r for r in records}
    ranked = rank_with_prior(index.search(query, k=100, mask=mask), rec_by_id)
    n = max(k, 20) if (rerank and client) else k
    res.candidates = [_candidate(rec_by_id[h.id], score, h, online) for score, h in ranked[:n]]
    if rerank and client is not None:
        from tools.hub.rerank import llm_rerank

        res.candidates, note = llm_rerank(client, query, res.candidates, spec)
        if note:
            res.notes.append(note)
    res.candidates = res.candidates[:k]
    if not online and any(not c.reachable for c in res.candidates):
        res.notes.append("offline: Hub-only datasets are listed with reachable=false and "
                         "will not be used; add a local copy with --catalog DIR")
    return res
