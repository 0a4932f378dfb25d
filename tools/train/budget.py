"""What a training time budget can pay for, from speeds measured on this machine.

A fine-tune whose schedule is longer than its budget is cut mid-schedule, with
the learning rate still high; so the number of steps is planned from a short
calibration (a few forward+backward passes on real batches, weights untouched)
and the linear schedule ends inside the budget. The wall-time callback stays as
the hard stop.
"""

from __future__ import annotations

import math
import random
import time

# Rows per second an encoder fine-tune can reach on a quiet 2-core box (MiniLM-L6, bf16,
# short inputs): an upper bound, so that rows are never left out for lack of an estimate.
OPTIMISTIC_ROWS_PER_S = 120.0
OPTIMIZER_OVERHEAD = 1.15  # AdamW step + logging on top of forward+backward (measured 1.1-1.2)
EVAL_SHARE = 0.12  # evaluations + checkpoint saves, as a share of the fine-tune's budget
MIN_CHEAP_ROWS = 200  # the cheap candidate embeds at least this many training rows


class BudgetError(ValueError):
    """The time budget cannot pay for even the cheapest model; the message says what to set."""


def check_cheap(budget_s: float, spent_s: float, s_per_row: float, n_rows: int) -> None:
    """Refuse when the rest of the budget cannot embed the cheap candidate's rows."""
    need = spent_s + s_per_row * n_rows + 2.0  # + fitting the logistic regression
    if need > budget_s:
        raise BudgetError(
            f"the time budget of {budget_s / 60:.2f} min is too short for even the cheap model "
            f"(frozen embeddings + logistic regression needs about {need:.0f} s for {n_rows} rows "
            f"at the speed measured now); nothing was trained or exported. Give training at least "
            f"{max(1.0, math.ceil(need * 1.5 / 60))} min (p2m: Sizes.train_minutes; a run config: "
            "time_budget_minutes).")


def affordable_rows(minutes: float, rows_per_s: float = OPTIMISTIC_ROWS_PER_S) -> int:
    """Training rows one pass of a `minutes` budget can use at best (a cap for retrieval)."""
    return max(1000, int(minutes * 60 * rows_per_s))


def batches_by_length(rows: list[dict], batch_size: int, n: int, seed: int = 0) -> list[list[dict]]:
    """n batches of rows drawn at random (what a length-grouped epoch averages out to)."""
    rng = random.Random(seed)
    return [rng.sample(rows, min(batch_size, len(rows))) for _ in range(n)]


def seconds_per_row(model, collate, rows: list[dict], batch_size: int, *, train: bool,
                    bf16: bool, n_batches: int = 3) -> float:
    """Measured seconds per row of a forward (+ backward when train) pass.

    The first batch warms up kernels and is not counted. No optimizer step is taken,
    so the weights are unchanged; gradients are cleared afterwards.
    """
    import torch

    batches = batches_by_length(rows, batch_size, n_batches + 1)
    was_training = model.training
    model.train(train)
    spent, seen = 0.0, 0
    try:
        for i, batch in enumerate(batches):
            enc = collate(batch)
            t = time.perf_counter()
            ctx = torch.enable_grad() if train else torch.inference_mode()
            with ctx, torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
                out = model(**enc)
                if train:
                    out.loss.backward()
            if i:
                spent += time.perf_counter() - t
                seen += len(batch)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return spent / max(1, seen) * (OPTIMIZER_OVERHEAD if train else 1.0)


def plan_steps(budget_s: float | None, s_per_row: float, n_train: int, batch_size: int,
               epochs: float, world: int = 1) -> dict:
    """Steps of the schedule: the epochs asked for, or fewer when the budget can't pay.

    Returns {steps, epochs, budget_bound, est_seconds}."""
    per_epoch = max(1, math.ceil(n_train / (batch_size * world)))
    want = max(1, math.ceil(per_epoch * epochs))
    step_s = s_per_row * batch_size
    if budget_s is None or step_s <= 0:
        return {"steps": want, "epochs": round(want / per_epoch, 3), "budget_bound": False,
                "est_seconds": round(want * step_s, 1)}
    can = int(budget_s * (1 - EVAL_SHARE) / step_s)
    steps = max(1, min(want, can))
    return {"steps": steps, "epochs": round(steps / per_epoch, 3), "budget_bound": can < want,
            "est_seconds": round(steps * step_s, 1)}
