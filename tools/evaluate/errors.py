"""Error analysis for the loop back: failing examples grouped.

Classification failures group by label confusion (gold -> predicted); text
failures by KMeans over MiniLM embeddings of the inputs, named by their most
frequent words, so the agent can generate data aimed at each group.
"""

from __future__ import annotations

import re
from collections import Counter

MAX_EXAMPLES = 5
_STOP = set(["the", "a", "an", "of", "to", "in", "is", "and", "or", "for", "on", "what", "how", "which", "who", "was", "are", "be", "with", "by", "as", "at", "it", "this", "that", "from"])


def by_confusion(inputs, golds, preds, known_labels: list[str] | None = None) -> list[dict]:
    """Groups {name, count, examples} of gold -> predicted, largest first.

    Gold labels the model never saw in training get their own group name, since
    no amount of tuning fixes them: the data needs examples of that label.
    """
    groups: dict[str, list[dict]] = {}
    for x, g, p in zip(inputs, golds, preds):
        if p == g:
            continue
        if known_labels and g not in known_labels:
            name = f"label not seen in training: {g}"
        else:
            name = f"{g} -> {p if p is not None else 'unparseable'}"
        groups.setdefault(name, []).append({"input": x, "gold": g, "pred": p})
    return _sorted(groups)


def by_cluster(inputs, golds, preds, correct, k: int | None = None, seed: int = 0) -> list[dict]:
    """KMeans clusters of the failing inputs (MiniLM embeddings)."""
    fails = [(x, g, p) for x, g, p, ok in zip(inputs, golds, preds, correct) if not ok]
    if not fails:
        return []
    k = k or max(1, min(5, len(fails) // 4))
    if k == 1 or len(fails) < 2:
        return _sorted({"all failures": [_row(*f) for f in fails]})
    from sklearn.cluster import KMeans
    from transformers import AutoModel, AutoTokenizer

    from tools.train.base_models import minilm_path
    from tools.train.encoder import embed

    path = minilm_path()
    emb = embed(AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path),
                [f[0] for f in fails], 128)
    ids = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(emb)
    groups: dict[str, list[dict]] = {}
    for c in range(k):
        members = [fails[i] for i in range(len(fails)) if ids[i] == c]
        if members:
            groups[f"cluster {c}: {_top_words([m[0] for m in members])}"] = [_row(*m) for m in members]
    return _sorted(groups)


def _row(x, g, p) -> dict:
    return {"input": x, "gold": g, "pred": p}


def _top_words(texts: list[str], n: int = 3) -> str:
    words = Counter(w for t in texts for w in re.findall(r"[a-zA-Z]{3,}", t.lower()) if w not in _STOP)
    return ", ".join(w for w, _ in words.most_common(n)) or "misc"


def _sorted(groups: dict[str, list[dict]]) -> list[dict]:
    return [{"name": name, "count": len(rows), "examples": rows[:MAX_EXAMPLES]}
            for name, rows in sorted(groups.items(), key=lambda kv: -len(kv[1]))]
