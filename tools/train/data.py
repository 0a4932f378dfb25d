"""Training data: read rows, check them, carve a validation split.

Bad data stops the run with a `DataError` whose message says what to fix;
nothing is dropped silently (dropped rows are counted in the returned report).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path


class DataError(ValueError):
    """The training data cannot produce a model; the message says why."""


def read_rows(path: str | Path) -> list[dict]:
    """Rows of a JSONL file with `input` and `output` (other keys kept)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"training data not found: {p}")
    rows = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p}:{i} is not JSON ({e.msg})") from None
        if not isinstance(row, dict) or "input" not in row or "output" not in row:
            raise DataError(f"{p}:{i} needs 'input' and 'output' fields")
        rows.append({"input": str(row["input"]), "output": str(row["output"])})
    return rows


def write_rows(path: str | Path, rows) -> Path:
    """Write rows (dicts or objects with input/output) as JSONL."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as f:
        for r in rows:
            d = r if isinstance(r, dict) else {"input": r.input, "output": r.output}
            f.write(json.dumps({"input": d["input"], "output": d["output"]}, ensure_ascii=False) + "\n")
    return p


MIN_ROWS_PER_LABEL = 2  # one row cannot be both learned from and checked; it is dropped


def check_classification(train: list[dict], labels: list[str]) -> tuple[list[str], dict, list[dict]]:
    """Validate classification rows; returns (label list, report, rows kept).

    The label list is the spec's when given, else the sorted labels seen. Rows
    whose label is outside a given label set are a hard error: a typo there
    would otherwise train a model that can never predict the right class. A
    label with fewer than MIN_ROWS_PER_LABEL rows has its rows dropped, and the
    report names it (`labels_dropped_too_few_rows`).
    """
    if not train:
        raise DataError("the training set is empty: add examples or generate synthetic data first")
    seen = Counter(r["output"].strip() for r in train)
    labels = list(labels) or sorted(seen)
    unknown = sorted(set(seen) - set(labels))
    if unknown:
        raise DataError(f"training labels not in the label set {labels}: {unknown[:10]}")
    rare = {l: n for l, n in seen.items() if n < MIN_ROWS_PER_LABEL}
    kept = [r for r in train if r["output"].strip() not in rare]
    dropped = rare
    left = Counter(r["output"].strip() for r in kept)
    if len(left) < 2:
        few = f"; labels with under {MIN_ROWS_PER_LABEL} rows: {sorted(rare)[:10]}" if rare else ""
        what = (f"only one label in the training data ('{next(iter(left))}')" if left else
                f"no label has {MIN_ROWS_PER_LABEL} or more training rows")
        raise DataError(f"{what}{few}: a classifier needs at least {MIN_ROWS_PER_LABEL} examples "
                        "of each of at least two labels")
    missing = [l for l in labels if l not in left]
    report = {"label_counts": dict(left), "labels_without_examples": missing}
    if dropped:
        report["labels_dropped_too_few_rows"] = dropped
        report["notes"] = [f"dropped {sum(dropped.values())} row(s) of label(s) with under "
                           f"{MIN_ROWS_PER_LABEL} examples: {', '.join(sorted(dropped))} (the model will "
                           "not predict them; add examples to keep them)"]
    return labels, report, kept


def check_text(train: list[dict]) -> dict:
    """Validate text-to-text rows; empty outputs cannot teach anything."""
    if not train:
        raise DataError("the training set is empty: add examples or generate synthetic data first")
    kept = [r for r in train if r["output"].strip()]
    if not kept:
        raise DataError("every training row has an empty output")
    return {"empty_outputs_dropped": len(train) - len(kept)}


def split_validation(rows: list[dict], fraction: float, cap: int, seed: int,
                     stratify: bool) -> tuple[list[dict], list[dict]]:
    """Hold out a seeded validation slice (stratified by output for classifiers)."""
    rng = random.Random(seed)
    if len(rows) < 10:
        # Too few to hold any out: validate on the training rows, said in the result.
        return rows, list(rows)
    n_val = max(1, min(cap, int(len(rows) * fraction)))
    if stratify:
        by: dict[str, list[dict]] = {}
        for r in rows:
            by.setdefault(r["output"], []).append(r)
        val, train = [], []
        for lab in sorted(by):
            group = by[lab][:]
            rng.shuffle(group)
            k = round(len(group) * n_val / len(rows)) if len(group) > 1 else 0
            val += group[:k]
            train += group[k:]
        if not val:  # every label too small for its share (e.g. 19 rows over 5 labels): hold out one row
            big = max(by.values(), key=len)
            if len(big) > 1:
                val = [next(r for r in train if r["output"] == big[0]["output"])]
                train.remove(val[0])
        rng.shuffle(train)
        return train, val
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    val = [rows[i] for i in idx[:n_val]]
    train = [rows[i] for i in idx[n_val:]]
    return train, val
