"""Metrics by task kind, with seeded bootstrap 95% intervals.

classification: accuracy, macro-F1 (over the gold labels present), per-label F1
extraction:     SQuAD-normalised exact match and token F1
A gold may be one string or a list of acceptable answers (SQuAD rows carry several):
exact match and token F1 then take the best over them, as SQuAD's official script does.
generation:     chrF++ (sacrebleu CHRF(word_order=2)) and exact match
numbers:        numeric match when every gold output is a number
"""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np

from tools.contracts import MetricValue

N_BOOT = 1000
# chrF is reported on its usual 0-100 scale; every other metric is already 0-1.
SCALE = {"chrf": 100.0}
_NUM = re.compile(r"-?\d[\d,]*\.?\d*")


def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(pred: str, gold: str) -> float:
    return float(normalize_answer(pred) == normalize_answer(gold))


def token_f1(pred: str, gold: str) -> float:
    """SQuAD token-overlap F1 between normalised strings."""
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def gold_list(gold) -> list[str]:
    """The acceptable answers of one gold (a string, or a non-empty list of strings)."""
    if isinstance(gold, (list, tuple)):
        return [str(g) for g in gold] or [""]
    return [str(gold)]


def first_gold(golds) -> list[str]:
    """The first acceptable answer of each gold (what single-reference metrics use)."""
    return [gold_list(g)[0] for g in golds]


def best_over(fn, pred: str, gold) -> float:
    """fn(pred, g) maximised over the gold's acceptable answers."""
    return max(fn(pred, g) for g in gold_list(gold))


def parse_number(s: str) -> float | None:
    """The last number in a string (answers often end with it), or None."""
    found = _NUM.findall(s or "")
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").rstrip("."))
    except ValueError:
        return None


def numeric_match(pred: str, gold: str) -> float:
    p, g = parse_number(pred), parse_number(gold)
    return float(p is not None and g is not None and abs(p - g) <= 1e-6 * max(1.0, abs(g)))


def is_numeric_task(golds: list[str]) -> bool:
    """Every gold output is just a number."""
    return bool(golds) and all(re.fullmatch(r"\s*-?[\d,]*\.?\d+\s*", g) for g in golds)


def bootstrap(stat, n: int, seed: int = 0, n_boot: int = N_BOOT) -> tuple[float, float]:
    """95% percentile interval of stat(indices) over seeded resamples."""
    if n == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    vals = [stat(rng.integers(0, n, n)) for _ in range(n_boot)]
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def _mean_metric(per_example: np.ndarray, seed: int) -> MetricValue:
    lo, hi = bootstrap(lambda idx: per_example[idx].mean(), len(per_example), seed)
    return MetricValue(value=float(per_example.mean()) if len(per_example) else float("nan"),
                       low=lo, high=hi)


def _macro_f1(gold: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Macro F1 over classes present in gold (pred may hold -1 for unparseable)."""
    f1s = []
    for c in np.unique(gold):
        tp = np.sum((pred == c) & (gold == c))
        fp = np.sum((pred == c) & (gold != c))
        fn = np.sum((pred != c) & (gold == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else float("nan")


def classification(preds: list[str | None], golds: list[str], seed: int = 0) -> dict[str, MetricValue]:
    """accuracy, macro_f1 and f1[label] (None predictions count as wrong)."""
    names = sorted(set(golds) | {p for p in preds if p is not None})
    ids = {l: i for i, l in enumerate(names)}
    g = np.array([ids[x] for x in golds])
    p = np.array([ids[x] if x is not None else -1 for x in preds])
    out = {"accuracy": _mean_metric((g == p).astype(float), seed)}
    lo, hi = bootstrap(lambda idx: _macro_f1(g[idx], p[idx], len(names)), len(g), seed)
    out["macro_f1"] = MetricValue(value=_macro_f1(g, p, len(names)), low=lo, high=hi)
    for lab in sorted(set(golds)):
        c = ids[lab]
        tp, fp, fn = (np.sum((p == c) & (g == c)), np.sum((p == c) & (g != c)),
                      np.sum((p != c) & (g == c)))
        out[f"f1[{lab}]"] = MetricValue(value=float(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)))
    return out


def chrf(preds: list[str], golds: list[str], seed: int = 0) -> MetricValue:
    """Corpus chrF++ with a bootstrap over sentence statistics (exact, fast)."""
    from sacrebleu.metrics import CHRF

    m = CHRF(word_order=2)
    stats = np.array(m._extract_corpus_statistics(preds, [golds]))

    def score(idx):
        return m._compute_score_from_stats(list(stats[idx].sum(0))).score

    lo, hi = bootstrap(score, len(preds), seed, n_boot=300)
    return MetricValue(value=score(np.arange(len(preds))), low=lo, high=hi)


def unit_value(name: str, value: float) -> float:
    """A metric's value on the 0-1 scale that targets and floors are set in."""
    return value / SCALE.get(name, 1.0)


def compute(kind: str, preds: list[str | None], golds: list, seed: int = 0) -> dict[str, MetricValue]:
    """All metrics for a task kind; None predictions (unparseable) count as wrong.

    golds: one per prediction, a string or a list of acceptable answers (gold_list)."""
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold outputs")
    if kind == "classification":
        return classification(preds, first_gold(golds), seed)
    texts = [p or "" for p in preds]
    out = {"exact_match": _mean_metric(np.array([best_over(exact_match, p, g) for p, g in zip(texts, golds)]),
                                       seed)}
    if kind == "extraction":
        out["token_f1"] = _mean_metric(np.array([best_over(token_f1, p, g) for p, g in zip(texts, golds)]), seed)
    else:
        out["chrf"] = chrf(texts, first_gold(golds), seed)
    if is_numeric_task(first_gold(golds)):
        out["numeric_match"] = _mean_metric(
            np.array([best_over(numeric_match, p, g) for p, g in zip(texts, golds)]), seed)
    return out
