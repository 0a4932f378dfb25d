"""find_model: pick a base model the trainer supports, within the size cap."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.human import ask_user
from agent.state import AgentState, say
from tools.contracts import TaskSpec


def find_model(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from tools.hub.models import search_models

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    res = search_models(spec=spec, settings=ctx.settings, k=8)
    usable = [c for c in res.candidates if c.reachable]
    if not usable:
        msg = ("No base model that fits the task can be loaded right now (offline, and no "
               "packaged model matches). " + "; ".join(res.notes))
        return {**say(msg, "error"), "error": "no_model"}
    lines = [f"{i}. {c.id} ({c.architecture}, {c.params_m or '?'}M params"
             f"{'' if c.reachable else ', not reachable offline'})"
             for i, c in enumerate(res.candidates[:6], 1)]
    default = str(res.candidates.index(usable[0]) + 1)
    reply, msgs = ask_user({"kind": "pick_model", "message": "Base models:\n" + "\n".join(lines)
                            + f"\n\nReply with a number (default {default}).",
                            "options": [c.id for c in res.candidates[:6]]}, state, ctx, default=default)
    idx = int(reply) - 1 if reply.strip().isdigit() else int(default) - 1
    chosen = res.candidates[idx] if 0 <= idx < len(res.candidates) else usable[0]
    if not chosen.reachable:
        msgs.append({"role": "assistant", "kind": "text",
                     "content": f"{chosen.id} can't be loaded offline; using {usable[0].id}."})
        chosen = usable[0]
    ctx.emit("model", id=chosen.id)
    msgs.append({"role": "assistant", "kind": "model",
                 "content": f"Base model: {chosen.id} ({chosen.params_m}M parameters)."})
    return {"messages": msgs, "chosen_model": chosen.model_dump()}
