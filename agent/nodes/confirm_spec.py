"""confirm_spec: show the spec, the plan and the budget; the user approves or edits."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent.budget import plan_round, spent
from agent.context import AgentContext
from agent.human import apply_reply, ask_user, diff_text, is_approval
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
    diff = state.get("spec_diff") or []
    head = diff_text(diff, state.get("spec_ignored") or []) + "\n\n" if diff else ""
    reply, notes = ask_user({"kind": "confirm_spec", "message": head + text + "\n\nApprove? (yes, "
                             "or say what to change, e.g. 'the labels are a, b and c', 'drop b', "
                             "'aim for 90%', 'it's in German', 'use my file data.csv')",
                             "spec": spec.model_dump(), "diff": diff,
                             "options": ["yes"]}, state, ctx, default="yes")
    # Back here from a loop-back question: data and model are already chosen.
    nxt = "generate" if state.get("chosen_model") else "find_data"
    if ctx.autopilot:
        return Command(goto=nxt, update={**say(text, "spec"), "approved": True, "spec_diff": []})
    if is_approval(reply):
        return Command(goto=nxt, update={"messages": notes, "approved": True, "spec_diff": []})
    new, diff, ignored, files = apply_reply(spec, reply, ctx.client)
    update: dict = {"messages": notes, "approved": False}
    if files:
        update["data_files"] = list(dict.fromkeys((state.get("data_files") or []) + files))
        diff = diff + [f"training data: + {f}" for f in files]
    if not diff:
        why = f" (ignored: {'; '.join(ignored)})" if ignored else ""
        notes.append({"role": "assistant", "kind": "text", "content":
                      f"I didn't see a change in that{why}. Reply 'yes' to approve, or say what to "
                      "change, e.g. 'the labels are a, b and c', 'aim for 90%', 'budget: 50 calls'."})
        return Command(goto="confirm_spec", update=update)
    ctx.store.save_spec(state["session_id"], new.model_dump())
    return Command(goto="confirm_spec", update={**update, "spec": new.model_dump(), "spec_diff": diff,
                                                "spec_ignored": ignored})
