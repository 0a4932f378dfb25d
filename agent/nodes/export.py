"""export: write the best round's model as a deployable folder, verified after export."""

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
    result = RunResult.model_validate(best["result"])
    data = SessionData(ctx.settings, sid, ctx.store)
    test = data.test()
    try:
        folder = export_model(result.model_path, spec, name=f"p2m-{sid}", result=result,
                              examples=data.training_rows(spec, state.get("round", 1)),
                              sample_inputs=[e.input for e in test[:20]] or None,
                              exports_dir=ctx.out_dir or ctx.settings.exports_dir, overwrite=True,
                              eval_examples=test, eval_source=best["summary"].get("eval_source", ""))
    except ExportError as e:
        return {**say(f"Export failed: {e}", "error"), "error": "export_failed"}
    s = best["summary"]
    ctx.store.record("events", {"session_id": sid, "kind": "export",
                                "payload": {"path": str(folder), "round": s["round"]}})
    if s.get("teacher") is None:
        verdict = "The teacher could not be scored (its calls failed); the student is compared with the base model only."
    elif (s.get("student") or 0) > s["teacher"]:
        verdict = "The student beats the teacher."
    else:
        verdict = "The student does not beat the teacher yet; see the card's limits."
    msg = (f"Done. Exported round {s['round']} to {folder}\n"
           f"Evaluated on {s.get('eval_source')}.\n```\n{summary_table(result)}\n```\n{verdict}\n"
           f"Try it: python {folder}/predict.py \"your text\"   |   demo: python {folder}/demo.py")
    ctx.emit("export", path=str(folder))
    return {**say(msg, "export"), "export_path": str(folder)}
