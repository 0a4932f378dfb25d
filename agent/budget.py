"""The session's budget, in one place: what was spent, what is left, what a round may use.

- `spent`: paid LLM calls and tokens from the store's call log (survives restarts)
  and minutes since the session started.
- `budget_left`: why the budget is spent, or None (decide asks before looping back).
- `plan_round`: how many synthetic examples the next round asks for and the time,
  call and token limits it runs under, from what is left after reserving this
  round's training, the teacher's evaluation and the export. The estimate that
  confirm_spec shows is `plan_round` for round 1, so the user sees what will run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tools.contracts import TaskSpec

EXPORT_RESERVE_MIN = 1.0  # writing and re-checking the export folder
EVAL_SECONDS_PER_TEACHER_ROW = 2.0  # one constrained call per row, prompt prefix cached
MIN_GENERATION_S = 60.0
LATER_ROUNDS_SHARE = 0.7  # round 1 leaves some time for a loop back when rounds remain
# A classifier's training time follows its data: frozen embeddings + logistic regression
# take seconds, and a fine-tune of a few hundred rows ends its epochs in a minute or two.
# Reserving the whole train_minutes for it left synthetic rounds a fraction of the
# budget (measured: 22 AG News examples in a 20-minute session whose training took 20 s).
FINETUNE_ROWS_PER_S = 25.0  # MiniLM, max_length 64, 2 busy CPU cores (conservative)
TRAIN_FIXED_MIN = 1.5  # loading, the cheap candidate, validation, the ONNX copy


def spent(store, session_id: str, started_at: float | None) -> dict:
    """Paid LLM calls and tokens for the session, and minutes since it started."""
    row = store.query(
        "SELECT count(*) AS calls, coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens, "
        "coalesce(sum(completion_tokens), 0) AS out_tokens, coalesce(sum(latency_ms), 0) AS ms "
        "FROM llm_calls WHERE session_id = ? AND NOT coalesce(cache_hit, false) "
        "AND error IS NULL", [session_id])[0]
    minutes = (time.time() - started_at) / 60 if started_at else 0.0
    return {"llm_calls": int(row["calls"]), "tokens": int(row["tokens"]), "minutes": round(minutes, 2),
            "completion_tokens": int(row["out_tokens"]), "call_seconds": round(row["ms"] / 1000, 1)}


def budget_left(spec: TaskSpec, rounds_done: int, minutes: float, calls_used: int,
                min_round_minutes: float = 0.0) -> str | None:
    """Why the budget is spent, or None while there is room for another round.

    `min_round_minutes`: the least a round takes (its training); a round that cannot
    finish inside the wall-time budget is not started.
    """
    if rounds_done >= spec.budget.max_rounds:
        return f"{rounds_done} of {spec.budget.max_rounds} rounds used"
    if minutes >= spec.budget.max_minutes:
        return f"{minutes:.1f} of {spec.budget.max_minutes:g} minutes used"
    if minutes + min_round_minutes > spec.budget.max_minutes:
        return (f"{minutes:.1f} of {spec.budget.max_minutes:g} minutes used, too few for another "
                f"round of about {min_round_minutes:g} min")
    if calls_used >= spec.budget.max_llm_calls:
        return f"{calls_used} of {spec.budget.max_llm_calls} LLM calls used"
    return None


@dataclass
class RoundPlan:
    """What the next generation round may use, and the estimate shown to the user."""

    n: int
    max_seconds: float
    max_calls: int
    max_tokens: int
    summary: str
    reserved: dict = field(default_factory=dict)


def training_minutes(rows: int) -> float:
    """Minutes a classifier's training needs for `rows` rows: the cheap candidate, then a
    fine-tune of the epochs its data size gets (tools.train.config.default_epochs)."""
    from tools.train.config import default_epochs

    epochs = default_epochs("encoder_finetune", rows)
    return TRAIN_FIXED_MIN + rows * epochs / FINETUNE_ROWS_PER_S / 60


def evaluation_minutes(sizes, concurrency: int = 4) -> float:
    """Minutes kept for the teacher's two scorings: the round's on validation rows, and the
    estimate's once at export."""
    return round(2 * sizes.teacher_eval_rows * EVAL_SECONDS_PER_TEACHER_ROW / max(1, concurrency) / 60 + 0.5, 1)


def training_budget(spec: TaskSpec, sizes, used: dict) -> float:
    """The training run's minutes: `sizes.train_minutes`, cut to what the session has left
    after the teacher's evaluation and the export (at least 1 minute)."""
    left = spec.budget.max_minutes - used.get("minutes", 0.0) - evaluation_minutes(sizes) - EXPORT_RESERVE_MIN
    return round(max(1.0, min(sizes.train_minutes, left)), 2)


def plan_round(spec: TaskSpec, sizes, client, *, round_: int, used: dict,
               retrieved_rows: int = 0, config=None) -> RoundPlan:
    """The examples and limits of the next round, from what the budget has left.

    `used` is `spent(...)`; the teacher's speed is measured from this session's paid
    calls when there are enough, else its profile (tools.synth.teacher_speed).
    """
    from tools.synth import SynthConfig, estimate_round, examples_for, teacher_speed

    config = config or SynthConfig()
    minutes_left = spec.budget.max_minutes - used.get("minutes", 0.0)
    speed = teacher_speed(client, {"completion_tokens": used.get("completion_tokens", 0),
                                   "seconds": used.get("call_seconds", 0)})
    reserved = {"training_min": sizes.train_minutes, "evaluation_min": evaluation_minutes(sizes, config.concurrency),
                "export_min": EXPORT_RESERVE_MIN}
    calls_left = max(0, spec.budget.max_llm_calls - used.get("llm_calls", 0) - sizes.teacher_eval_rows)
    tokens_left = max(0, spec.budget.max_tokens - used.get("tokens", 0))

    def generation(reserved: dict) -> tuple[float, int]:
        free_s = (minutes_left - sum(reserved.values())) * 60
        if spec.budget.max_rounds > round_:
            free_s *= LATER_ROUNDS_SHARE
        seconds = max(MIN_GENERATION_S, free_s) if calls_left else 0.0
        return seconds, examples_for(spec, seconds, calls_left, config, client, speed) if seconds else 0

    seconds, fit = generation(reserved)
    if spec.kind == "classification":  # keep for training what this round's data needs
        need = training_minutes(retrieved_rows + fit)
        if need < reserved["training_min"]:
            # more time for generation buys more rows: size the reserve for what that buys
            seconds, fit = generation({**reserved, "training_min": need})
            reserved["training_min"] = round(min(sizes.train_minutes, training_minutes(
                retrieved_rows + fit)), 1)
            seconds, fit = generation(reserved)
    n = min(sizes.synth_per_round, fit) if sizes.synth_per_round is not None else fit
    est = estimate_round(spec, n, config, client, speed)
    summary = (f"round {round_}: about {n} synthetic examples in about {est.seconds / 60:.0f} min "
               f"({speed.source}); then up to {sizes.train_minutes:g} min of training"
               + (f" on {retrieved_rows:,} retrieved rows plus these" if retrieved_rows else ""))
    return RoundPlan(n=n, max_seconds=seconds, max_calls=calls_left, max_tokens=tokens_left,
                     summary=summary, reserved=reserved)
