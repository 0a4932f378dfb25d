"""generate: one round of synthetic data (targeted at failures after the first)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.budget import plan_round, spent
from agent.context import AgentContext
from agent.data_files import SessionData
from agent.state import AgentState
from tools.contracts import TaskSpec
from tools.llm import teacher_note



def _failure_rows(failures: list[dict]) -> list[dict]:
    return [ex for group in failures for ex in group.get("examples", [])]


def generate(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from tools.synth import SynthConfig, generate_round, generate_targeted

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    sid, round_ = state["session_id"], state.get("round", 0) + 1
    data = SessionData(ctx.settings, sid, ctx.store)
    test, existing = data.test(), data.existing(round_)
    used = spent(ctx.store, sid, state.get("started_at"))
    base = SynthConfig(concurrency=4, consistency_k=ctx.sizes.self_consistency_k)
    plan = plan_round(spec, ctx.sizes, ctx.client, round_=round_, used=used,
                      retrieved_rows=len(data.retrieved()), config=base)
    config = base.model_copy(update={"max_calls": plan.max_calls, "max_tokens": plan.max_tokens,
                                     "max_seconds": plan.max_seconds or None})
    ctx.emit("generate_plan", round=round_, n=plan.n, summary=plan.summary)
    kw = dict(n=plan.n, round=round_, store=ctx.store, session_id=sid,
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
    text = (f"Round {round_} data (planned: {plan.summary}): {rep.accepted} accepted of "
            f"{rep.items_requested} asked in {rep.requested} requests ({rep.acceptance_rate:.0%}, "
            f"{rep.accepted_per_minute:.0f} per minute); rejected by reason: "
            f"{rep.rejected_by_reason or '{}'}; duplicate rate {rep.duplicate_rate:.0%}; distinct "
            f"bigrams {rep.distinct_2:.2f}; ended: {rep.stopped}.")
    notes = rep.warnings or [teacher_note(ctx.client)]
    text += "\n" + "\n".join(f"- {w}" for w in notes)
    ctx.emit("data_report", report=rep.model_dump())
    return {**update, "round": round_,
            "messages": [{"role": "assistant", "kind": "data_report", "content": text,
                          "report": rep.model_dump()}],
            "spent": spent(ctx.store, sid, state.get("started_at"))}
