"""export: score the chosen round once on the held-out rows, then write a deployable folder.

The estimate shown to the user (and in the card, `p2m report`, `p2m run --json`)
is this one scoring, on rows nothing was selected on, with its 95% interval,
size and source; `estimate_warnings` says in a sentence when those rows don't
fit the task (labels missing, or spread very differently from training).
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.data_files import SessionData
from agent.state import AgentState, say
from tools.contracts import RunResult, TaskSpec


def export(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from tools.evaluate import summary_table
    from tools.export import ExportError, export_model

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    sid = state["session_id"]
    best = state.get("best") or {}
    if not best:
        return {**say("Nothing to export: no round finished training and evaluation.", "error"),
                "error": "nothing_to_export"}
    chosen = RunResult.model_validate(best["result"])
    data = SessionData(ctx.settings, sid, ctx.store)
    test = data.test()
    source = state.get("eval_source") or "the held-out rows"
    training = data.training_rows(spec, state.get("round", 1))
    if not test:
        test = list(data.validation()[0]) or [e for e in spec.demonstrations]
        source = f"the {len(test)} examples you gave (also trained on, so optimistic)"
    result, estimate = score_once(spec, chosen, test, source, training, state, ctx)
    try:
        folder = export_model(result.model_path, spec, name=f"p2m-{sid}", result=result,
                              examples=training,
                              sample_inputs=[e.input for e in test[:20]] or None,
                              exports_dir=ctx.out_dir or ctx.settings.exports_dir, overwrite=True,
                              eval_examples=test, eval_source=source)
    except ExportError as e:
        return {**say(f"Export failed: {e}", "error"), "error": "export_failed"}
    s = {**best["summary"], **{k: estimate.get(k) for k in ("student", "teacher", "base")}}
    ctx.store.record("events", {"session_id": sid, "kind": "export",
                                "payload": {"path": str(folder), "round": s["round"]}})
    if s.get("teacher") is None:
        verdict = "The teacher could not be scored (its calls failed); the student is compared with the base model only."
    elif (s.get("student") or 0) > s["teacher"]:
        verdict = "The student beats the teacher."
    else:
        verdict = "The student does not beat the teacher yet; see the card's limits."
    warn = "".join(f"\nWarning: {w}" for w in estimate["warnings"])
    msg = (f"Done. Exported round {s['round']} to {folder}\n"
           f"Estimate: {estimate_line(estimate)}.{warn}\n```\n{summary_table(result)}\n```\n"
           f"{verdict}\n"
           f"Try it: python {folder}/predict.py \"your text\"   |   demo: python {folder}/demo.py")
    ctx.emit("export", path=str(folder))
    return {**say(msg, "export"), "export_path": str(folder), "estimate": estimate}


def estimate_line(est: dict) -> str:
    """ "accuracy 0.912 (95% interval 0.880-0.940) on <source>, 300 rows" """
    def f(v):
        return "-" if v is None else f"{v:.3f}"
    lo, hi = est.get("student_ci") or (None, None)
    return (f"{est.get('metric')} {f(est.get('student'))} (95% interval {f(lo)}-{f(hi)}) on "
            f"{est.get('eval_source')}, {est.get('n')} rows; rounds were chosen on other rows")


def score_once(spec: TaskSpec, chosen: RunResult, test, source: str, training, state, ctx):
    """The chosen model on the estimate's rows (student, teacher, base), once; (result, estimate)."""
    from tools.evaluate import evaluation
    from tools.evaluate.checks import estimate_warnings

    base = (state.get("chosen_model") or {}).get("location") or ""
    try:
        result = evaluation.evaluate(spec, chosen.model_path, [{"input": e.input, "output": e.output}
                                                               for e in test],
                                     run_id=f"{chosen.run_id}-estimate", client=ctx.client,
                                     teacher_limit=ctx.sizes.teacher_eval_rows, store=ctx.store,
                                     hyperparameters=chosen.hyperparameters,
                                     train_seconds=chosen.train_seconds, base_model=base)
    except (ValueError, RuntimeError):
        result = chosen  # the round's own scoring stands (said in the source)
        source += " (re-scoring failed: the round's validation score)"
    from tools.evaluate.metrics import unit_value

    stu = next((s for s in result.scores if s.system == "student"), None)
    mv = stu.metrics.get(spec.metric) if stu else None
    unit = evaluation.unit_score
    estimate = {"student": unit(result, "student", spec.metric), "teacher": unit(result, "teacher", spec.metric),
                "base": unit(result, "base", spec.metric), "metric": spec.metric, "n": stu.n if stu else 0,
                "student_ci": [unit_value(spec.metric, v) if v is not None else None
                               for v in ((mv.low, mv.high) if mv else (None, None))],
                "eval_source": source,
                "warnings": estimate_warnings(spec.labels if spec.kind == "classification" else [],
                                              [e.output for e in training], [e.output for e in test], source)}
    return result, estimate
