"""Trainer callbacks: progress events (JSONL + store) and a wall-time budget."""

from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import EarlyStoppingCallback, TrainerCallback

from tools.train.record import record


class ProgressCallback(TrainerCallback):
    """Writes one JSON line per log/eval (step, loss, eval metric, ETA).

    The JSONL file is what a caller streams (`TrainJob.events()`); the same
    payload goes to the store's events table as kind "train_progress". Only the
    main process writes, so the callback is safe under `accelerate launch`.
    """

    def __init__(self, path: str | Path, run_id: str, session_id: str | None = None,
                 store=None, metric: str | None = None):
        self.path = Path(path)
        self.run_id, self.session_id, self.store, self.metric = run_id, session_id, store, metric
        self.t0 = time.monotonic()
        self.start_step = 0

    def emit(self, event: str, state, **fields) -> dict:
        """Append one event line (main process only) and mirror it to the store."""
        if state is not None and not state.is_world_process_zero:
            return {}
        step = state.global_step if state else 0
        max_steps = state.max_steps if state else 0
        elapsed = time.monotonic() - self.t0
        done = max(step - self.start_step, 0)
        eta = elapsed / done * (max_steps - step) if done and max_steps else None
        payload = {"event": event, "run_id": self.run_id, "step": step, "max_steps": max_steps,
                   "epoch": round(state.epoch or 0, 3) if state else 0,
                   "elapsed_s": round(elapsed, 2), "eta_s": round(eta, 1) if eta is not None else None,
                   **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(payload) + "\n")
        record(self.store, "events", {"session_id": self.session_id, "run_id": self.run_id,
                                      "kind": "train_progress", "payload": payload})
        return payload

    def on_train_begin(self, args, state, control, **kw):
        self.t0 = time.monotonic()
        self.start_step = state.global_step  # > 0 when resuming
        self.emit("start", state, resumed_from_step=state.global_step or None)

    def on_log(self, args, state, control, logs=None, **kw):
        logs = logs or {}
        if "loss" in logs:
            self.emit("step", state, loss=round(float(logs["loss"]), 5),
                      learning_rate=logs.get("learning_rate"))

    def on_evaluate(self, args, state, control, metrics=None, **kw):
        metrics = metrics or {}
        key = f"eval_{self.metric}" if self.metric else "eval_loss"
        self.emit("eval", state, eval_metric=self.metric or "loss",
                  eval_value=metrics.get(key, metrics.get("eval_loss")),
                  eval_loss=metrics.get("eval_loss"))


class TimeBudgetCallback(TrainerCallback):
    """Stops training cleanly once the wall-time budget is spent.

    On the step that crosses the budget it asks for an evaluation and a save,
    so `load_best_model_at_end` still has the best checkpoint to restore. That
    last evaluation and save are paid from the budget too: the stop comes when
    what is left would only cover them (`reserve_s`, as long as the last ones took).
    """

    def __init__(self, minutes: float | None):
        self.budget_s = None if minutes is None else minutes * 60.0
        self.t0 = time.monotonic()
        self.stopped = False
        self.reserve_s = 0.0
        self._step_end = self._eval_end = time.monotonic()
        self._eval_s = self._save_s = 0.0

    def on_train_begin(self, args, state, control, **kw):
        self.t0 = time.monotonic()

    def on_evaluate(self, args, state, control, **kw):
        self._eval_end = time.monotonic()
        self._eval_s = self._eval_end - self._step_end
        self.reserve_s = self._eval_s + self._save_s

    def on_save(self, args, state, control, **kw):
        self._save_s = time.monotonic() - max(self._step_end, self._eval_end)
        self.reserve_s = self._eval_s + self._save_s

    def on_step_end(self, args, state, control, **kw):
        self._step_end = time.monotonic()
        if self.budget_s is not None and self._step_end - self.t0 + self.reserve_s >= self.budget_s:
            self.stopped = True
            control.should_training_stop = True
            control.should_evaluate = True
            control.should_save = True
        return control


class ReplanCallback(TrainerCallback):
    """Keeps the learning-rate schedule ending inside the time budget as speed changes.

    The first plan comes from a short calibration (budget.plan_steps); on a shared
    machine the real speed drifts. Every `every` steps this measures the real time
    per step (evaluations and saves included) and moves `max_steps`, and the linear
    schedule's end with it, to what the rest of the budget pays for, never past the
    steps the epochs asked for. Without this the budget stop cuts training with the
    learning rate still high.
    """

    def __init__(self, budget_s: float, want_steps: int, every: int = 10, margin: float = 0.97,
                 stop: TimeBudgetCallback | None = None):
        self.budget_s, self.want, self.every, self.margin = budget_s, want_steps, max(5, every), margin
        self.stop = stop  # its reserve (the final evaluation + save) comes off the budget too
        self.t0 = time.monotonic()
        self.start_step = 0
        self.changes: list[dict] = []

    def on_train_begin(self, args, state, control, **kw):
        self.t0 = time.monotonic()
        self.start_step = state.global_step

    def on_step_end(self, args, state, control, lr_scheduler=None, **kw):
        done = state.global_step - self.start_step
        if done < 10 or state.global_step % self.every:
            return control
        elapsed = time.monotonic() - self.t0
        per_step = elapsed / done
        reserve = self.stop.reserve_s if self.stop is not None else 0.0
        new = state.global_step + int((self.budget_s * self.margin - reserve - elapsed) / per_step)
        new = max(state.global_step + 1, min(self.want, new))
        if abs(new - state.max_steps) <= max(2, 0.02 * state.max_steps):
            return control
        state.max_steps = new
        if lr_scheduler is not None:
            _move_schedule_end(lr_scheduler, new)
        self.changes.append({"step": state.global_step, "max_steps": new, "s_per_step": round(per_step, 3)})
        return control


def _move_schedule_end(scheduler, total: int) -> None:
    """Point a transformers warmup+decay LambdaLR at a new last step."""
    from functools import partial

    lambdas = getattr(scheduler, "lr_lambdas", None) or []
    for i, fn in enumerate(lambdas):
        if isinstance(fn, partial) and "num_training_steps" in fn.keywords:
            lambdas[i] = partial(fn.func, **{**fn.keywords, "num_training_steps": total})


class PatientEarlyStopping(EarlyStoppingCallback):
    """Early stopping that does not count evaluations in the first part of the schedule.

    A fresh head's first evaluations are noise near zero (SQuAD's span head read F1 0.05, 0.05,
    0.05 at 0.2-0.4 epoch, loss still falling) and patience ended it there. Evaluations count
    from the end of the first epoch or half the planned steps, whichever comes first."""

    def on_evaluate(self, args, state, control, metrics, **kwargs):
        epochs = max(state.num_train_epochs or 1, 1e-9)
        start = min(state.max_steps / 2, state.max_steps / epochs) if state.max_steps > 0 else 0
        if state.global_step < start:
            return control
        return super().on_evaluate(args, state, control, metrics, **kwargs)
