"""Choose the classifier by measurement, inside one time budget.

The cheap candidate always comes first: frozen embeddings + logistic regression
(seconds to a minute). The fine-tune then gets what is left of the budget, with
its schedule planned to end inside it. Whichever scores higher on the validation
split is kept (a tie goes to the cheap one), and the result says which and why.
Each candidate writes its own folder under `run_dir/candidates/`; a finished one
is reused when a killed run is started again.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from tools.train import encoder
from tools.train.config import SMALL_DATA_ROWS, TrainConfig

MIN_FINETUNE_S = 45.0  # less than this left: a fine-tune cannot get past its warm-up
RESERVE_S = 10.0  # kept back for the final evaluation and save at the stop (plus 2% of the budget)


def _cached(folder: Path) -> dict | None:
    p = folder / "candidate.json"
    if p.exists() and (folder / "model.safetensors").exists():
        return json.loads(p.read_text())
    return None


def _save(folder: Path, info: dict) -> dict:
    (folder / "candidate.json").write_text(json.dumps(info, default=str))
    return info


def fit_classifier(cfg: TrainConfig, base: Path, train, val, labels, batch_size: int, store) -> dict:
    """Fit both candidates within cfg.time_budget_minutes; the validation winner goes to model_dir."""
    t0 = time.monotonic()
    budget_s = None if cfg.time_budget_minutes is None else cfg.time_budget_minutes * 60
    root = cfg.path("candidates")
    prep = encoder.Prepared.build(base, cfg, train, val)
    metric = "macro_f1" if cfg.metric == "macro_f1" else "accuracy"

    frozen_dir = root / "frozen_lr"
    frozen = _cached(frozen_dir) or _save(frozen_dir, {"method": "frozen_lr", **encoder.frozen_lr(
        cfg, base, train, val, labels, store, out_dir=frozen_dir, prep=prep,
        budget_s=None if budget_s is None else budget_s - (time.monotonic() - t0))})
    candidates = [frozen]
    left = None if budget_s is None else budget_s - (time.monotonic() - t0)
    skipped = None
    if len(train) < SMALL_DATA_ROWS:
        skipped = f"fine-tune not tried: {len(train)} training rows (under {SMALL_DATA_ROWS}) are too few"
    elif left is not None and left < MIN_FINETUNE_S:
        skipped = f"fine-tune not tried: {max(0, left):.0f} s of the budget left after the cheap candidate"
    else:
        ft_dir = root / "encoder_finetune"
        ft = _cached(ft_dir) or _save(ft_dir, {"method": "encoder_finetune", **encoder.finetune(
            cfg, base, train, val, labels, batch_size, store, out_dir=ft_dir,
            budget_s=None if left is None else left - RESERVE_S - 0.02 * budget_s, prep=prep)})
        candidates.append(ft)

    def score(c):
        return (c.get("validation") or {}).get(metric) or 0.0

    best = max(candidates, key=score)  # max keeps the first (cheap) one on a tie
    why = _why(candidates, best, metric, skipped)
    dest = cfg.model_dir
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(root / best["method"], dest, ignore=shutil.ignore_patterns("candidate.json"))
    return {**best, "train_seconds": round(time.monotonic() - t0, 2),
            "candidates": [{k: c.get(k) for k in ("method", "validation", "train_seconds", "stop_reason",
                                                   "learning_rate", "epochs", "C", "rows_embedded",
                                                   "precision", "rows_per_second")} for c in candidates],
            "choice": why, "selection_metric": metric}


def _why(candidates: list[dict], best: dict, metric: str, skipped: str | None) -> str:
    parts = [f"{c['method']} {((c.get('validation') or {}).get(metric) or 0):.4f}" for c in candidates]
    text = f"kept {best['method']}: validation {metric} " + " vs ".join(parts)
    scores = [(c.get("validation") or {}).get(metric) or 0.0 for c in candidates]
    if len(candidates) > 1 and best["method"] == "frozen_lr" and scores[0] == max(scores[1:]):
        text += " (a tie goes to the cheap candidate: faster to train and to serve)"
    if skipped:
        text += f"; {skipped}"
    return text
