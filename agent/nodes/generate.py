"""generate: one round of synthetic data (targeted at failures after the first)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.budget import spent
from agent.context import AgentContext
from agent.data_files import SessionData
from agent.state import AgentState
from tools.contracts import TaskSpec
from tools.llm import WEAK_TEACHER_NOTE



def _failure_rows(failures: list[dict]) -> list[dict]:
    return [ex for group in failures for ex in group.get("examples", [])]


def generate(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from tools.synth import SynthConfig, generate_round, generate_targeted

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    sid, round_ = state["session_id"], state.get("round", 0) + 1
    data = SessionData(ctx.settings, sid, ctx.store)
    test, existing = data.test(), data.existing(round_)
    used = spent(ctx.store, sid, state.get("started_at"), ctx.client)
    left_calls = max(0, spec.budget.max_llm_calls - used["llm_calls"] - ctx.sizes.teacher_eval_rows)
    config = SynthConfig(concurrency=4, consistency_k=ctx.sizes.self_consistency_k,
                         max_calls=left_calls,
                         max_tokens=max(0, spec.budget.max_tokens - used["tokens"]))
    kw = dict(n=ctx.sizes.synth_per_round, round=round_, store=ctx.store, session_id=sid,
              eval_inputs=[e.input for e in test], existing=existing, config=config,
              on_progress=lambda p: ctx.emit("generate", **p))
    failures = _failure_rows(state.get("failures") or [])
    if failures and state.get("next_action") == "generate":
        result = generate_targeted(spec, ctx.client, failures, **kw)
    else:
        result = generate_round(spec, ctx.client, **kw)
    _, eval_source = data.save_synthetic(round_, result.accepted)
    update: dict = {"eval_source": eval_source} if eval_source else {}
    rep = result.report
    text = (f"Round {round_} data: {rep.accepted} accepted of {rep.requested} requested "
            f"({rep.acceptance_rate:.0%}); rejected by reason: {rep.rejected_by_reason or '{}'}; "
            f"duplicate rate {rep.duplicate_rate:.0%}; ended: {rep.stopped}.")
    if rep.warnings:
        text += "\n" + "\n".join(f"- {w}" for w in rep.warnings)
    elif ctx.client.is_embedded:
        text += f"\n- {WEAK_TEACHER_NOTE}"
    ctx.emit("data_report", report=rep.model_dump())
    return {**update, "round": round_,
            "messages": [{"role": "assistant", "kind": "data_report", "content": text,
                          "report": rep.model_dump()}],
            "spent": spent(ctx.store, sid, state.get("started_at"), ctx.client)}
