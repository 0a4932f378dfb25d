"""confirm_spec: show the spec, the plan and the budget; the user approves or edits."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.budget import plan_round, spent
from agent.context import AgentContext
from agent.human import apply_edit, ask_user, is_approval
from agent.state import AgentState, say
from tools.contracts import TaskSpec

def render_spec(spec: TaskSpec, plan: str) -> str:
    """The spec, plan and budget as the user sees them (`plan`: agent.budget.plan_round's summary)."""
    lines = [f"**Task** (v{spec.version}): {spec.instruction}",
             f"- kind: {spec.kind}" + (f"; labels: {', '.join(spec.labels)}" if spec.labels else ""),
             f"- input: {spec.input_format}; output: {spec.output_format}",
             f"- examples given: {len(spec.demonstrations)}",
             f"- metric: {spec.metric}; target: "
             + (f"{spec.target:g}" if spec.target is not None else "beat the teacher"),
             f"- budget: {spec.budget.max_llm_calls} LLM calls, {spec.budget.max_tokens:,} tokens, "
             f"{spec.budget.max_minutes:g} min, {spec.budget.max_rounds} rounds",
             f"**Plan**: find datasets and a base model; {plan}; score student vs teacher vs base "
             f"on held-out rows; loop back while below the target, within the budget."]
    return "\n".join(lines)


def parse_notes_line(state: AgentState) -> str:
    """Intake's notes on where the spec came from (text, model, what was dropped), briefly."""
    notes = state.get("parse_notes") or []
    return ("\n_How I read the description_: " + "; ".join(notes))[:400] if notes else ""


def confirm_spec(state: AgentState, runtime: Runtime[AgentContext]) -> Command:
    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    plan = plan_round(spec, ctx.sizes, ctx.client, round_=1,
                      used=spent(ctx.store, state["session_id"], state.get("started_at")))
    text = render_spec(spec, plan.summary) + parse_notes_line(state)
    reply, notes = ask_user({"kind": "confirm_spec", "message": text + "\n\nApprove? (yes, or "
                             "say what to change, e.g. 'labels: a, b, c' or 'target: 0.9')",
                             "spec": spec.model_dump()}, state, ctx, default="yes")
    # Back here from a loop-back question: data and model are already chosen.
    nxt = "generate" if state.get("chosen_model") else "find_data"
    if ctx.autopilot:
        return Command(goto=nxt, update={**say(text, "spec"), "approved": True})
    if is_approval(reply):
        return Command(goto=nxt, update={"messages": notes, "approved": True})
    new, changed = apply_edit(spec, reply, ctx.client)
    if not changed:
        notes.append({"role": "assistant", "kind": "text", "content":
                      "I didn't see a change in that. Reply 'yes' to approve, or e.g. "
                      "'labels: a, b, c', 'target: 0.9', 'budget: 50 calls'."})
        return Command(goto="confirm_spec", update={"messages": notes})
    ctx.store.save_spec(state["session_id"], new.model_dump())
    notes.append({"role": "assistant", "kind": "text", "content": f"Updated: {changed}."})
    return Command(goto="confirm_spec", update={"messages": notes, "spec": new.model_dump(),
                                                "approved": False})
