"""train: fine-tune the base model on everything accepted so far, as a resumable job."""

from __future__ import annotations

import json
from pathlib import Path

from langgraph.runtime import Runtime

from agent.budget import spent, training_budget
from agent.context import AgentContext
from agent.data_files import SessionData
from agent.state import AgentState, say
from tools.contracts import TaskSpec


def train(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from tools.train import DataError, TrainConfig, run_training

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    sid, round_ = state["session_id"], max(1, state.get("round", 1))
    data = SessionData(ctx.settings, sid, ctx.store)
    rows = data.training_rows(spec, round_)
    if not rows:
        return {**say("There is no training data: no dataset fit the task and the teacher's "
                      "examples were all rejected. Connect a stronger teacher (OPENAI_BASE_URL) "
                      "or give a labeled file with --data.", "error"), "error": "no_data"}
    over = state.get("train_overrides") or {}
    model = state.get("chosen_model") or {}
    run_dir = Path(ctx.settings.runs_dir) / sid / f"r{round_}-{len(state.get('decisions') or [])}"
    cfg = TrainConfig(run_id=f"{sid}-{run_dir.name}", run_dir=str(run_dir), kind=spec.kind,
                      base_model=model.get("location") or "",
                      train_path=str(data.write_training(round_, rows)),
                      labels=spec.labels, instruction=spec.instruction,
                      epochs=3.0 * over["epochs_factor"] if "epochs_factor" in over else None,
                      metric=spec.metric,  # None epochs: set by data size; metric picks the classifier
                      time_budget_minutes=training_budget(spec, ctx.sizes, spent(
                          ctx.store, sid, state.get("started_at"))), session_id=sid)
    if cfg.result_path.exists():  # finished before a crash: don't train twice
        result = json.loads(cfg.result_path.read_text())
    else:
        try:
            result = run_training(cfg, on_event=lambda ev: ctx.emit("train", **ev))
        except (DataError, RuntimeError) as e:
            return {**say(f"Training failed: {e}", "error"), "error": "train_failed"}
    if result.get("status") == "failed" or not result.get("model_path"):
        return {**say(f"Training failed: {result.get('error') or 'no model was written'}", "error"),
                "error": "train_failed"}
    return {"messages": [{"role": "assistant", "kind": "train", "content":
                          f"Trained {result.get('base_model_id') or model.get('id', 'the base model')} on {len(rows)} examples "
                          f"({result.get('method', cfg.method)}, {result.get('wall_seconds', 0):.0f} s)."}],
            "last_run": {"run_id": cfg.run_id, "model_path": result.get("model_path"),
                         "train_seconds": result.get("wall_seconds", 0.0),
                         "hyperparameters": result.get("hyperparameters") or {}}}
