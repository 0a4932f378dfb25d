"""How varied a round's accepted inputs are: distinct n-grams and embedding spread.

distinct-n (Li et al., 2016) is the share of unique n-grams among all n-grams;
embedding spread is the mean cosine distance of inputs to their centroid
(0: all the same sentence; higher: more varied). Both go in the data report
per round, so a teacher that writes "The acting was ..." 400 times shows.
"""

from __future__ import annotations

import numpy as np

from tools.synth.filters import normalize_text


def distinct_n(texts: list[str], n: int) -> float:
    """Unique n-grams / all n-grams over the texts (0.0 when there are none)."""
    total, seen = 0, set()
    for t in texts:
        words = normalize_text(t).split()
        grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else 0.0


def embedding_spread(vectors: np.ndarray | None) -> float | None:
    """Mean cosine distance to the centroid of L2-normalised vectors; None without vectors."""
    if vectors is None or len(vectors) < 2:
        return None
    v = np.asarray(vectors, dtype=np.float32)
    c = v.mean(0)
    norm = float(np.linalg.norm(c))
    if norm == 0:
        return 1.0
    return round(float(1.0 - (v @ (c / norm)).mean()), 4)
