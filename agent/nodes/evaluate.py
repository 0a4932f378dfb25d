"""evaluate: a round's student vs teacher vs untuned base on the validation rows.

Rounds are compared and the best one chosen on the validation rows; the estimate
the user deploys on comes from other held-out rows, scored once at export
(agent/nodes/export.py), so nothing is selected on the number that is shown.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.budget import spent
from agent.context import AgentContext
from agent.data_files import SessionData
from agent.state import AgentState, say
from tools.contracts import TaskSpec


def verified_score(spec: TaskSpec, model_path: str, rows) -> dict:
    """The student's metric on the user-verified rows, with its 95% interval."""
    from tools.evaluate.metrics import compute
    from tools.evaluate.systems import student

    preds = student(model_path).predict([r.input for r in rows])
    m = compute(spec.kind, preds, [r.output for r in rows]).get(spec.metric)
    return {"n": len(rows), "value": m.value if m else None, "low": m.low if m else None,
            "high": m.high if m else None, "source": "user-verified"}


def evaluate(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from tools.evaluate import evaluation

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    sid, round_ = state["session_id"], state.get("round", 1)
    test, separate = SessionData(ctx.settings, sid, ctx.store).validation()
    eval_source = (f"{len(test)} validation rows" if separate else
                   f"{state.get('eval_source') or 'the held-out rows'} (too few rows for a separate "
                   "validation slice: chosen on the estimate's rows)")
    if not test:  # nothing held out: the user's own examples are all there is
        test = [d for d in spec.demonstrations]
        eval_source = (f"the {len(test)} examples you gave (also used for training, so optimistic; "
                       "not a real test split)")
    if not test:
        return {**say("There is nothing to evaluate on: no test split and no examples.", "error"),
                "error": "no_test"}
    run = state.get("last_run") or {}
    base = (state.get("chosen_model") or {}).get("location") or ""
    try:
        result = evaluation.evaluate(
            spec, run["model_path"], [{"input": e.input, "output": e.output} for e in test],
            run_id=run["run_id"], client=ctx.client, teacher_limit=ctx.sizes.teacher_eval_rows,
            store=ctx.store, hyperparameters=run.get("hyperparameters"),
            train_seconds=run.get("train_seconds", 0.0), base_model=base,
            split="validation" if separate else "test")
    except (ValueError, RuntimeError) as e:
        return {**say(f"Evaluation failed: {e}", "error"), "error": "eval_failed"}
    summary = {"round": round_, "metric": spec.metric, "eval_source": eval_source, "n": len(test),
               **{system: evaluation.unit_score(result, system, spec.metric)
                  for system in ("student", "teacher", "base")}}
    verified = SessionData(ctx.settings, sid, ctx.store).verified()
    if verified:  # the user's own gold rows: scored beside the estimate, never selected on
        summary["verified"] = verified_score(spec, run["model_path"], verified)
    best = state.get("best") or {}
    best_val = (best.get("summary") or {}).get("student")
    entry = {"summary": summary, "result": result.model_dump()}
    update = {"rounds": [entry], "failures": result.failures,
              "spent": spent(ctx.store, sid, state.get("started_at"))}
    if best_val is None or (summary["student"] or 0) > best_val:
        update["best"] = entry
    table = evaluation.summary_table(result)
    ctx.emit("results", table=table, summary=summary)
    update["messages"] = [{"role": "assistant", "kind": "results",
                           "content": f"Round {round_} results on {eval_source}:\n```\n{table}\n```"
                           + (f"\nOn the {summary['verified']['n']} rows you verified: student "
                              f"{summary['verified']['value']:.3f}" if verified else ""),
                           "summary": summary}]
    return update
