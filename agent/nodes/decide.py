"""decide: after each round, export or loop back, with a recorded reason.

Pure logic over the round summaries and the budget; bounded by max_rounds,
wall time and LLM calls, so the loop always ends in `export`.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Command

import time

from agent.budget import budget_left
from agent.context import AgentContext
from agent.state import AgentState, say
from tools.contracts import TaskSpec

# A floor by task kind when the user set no target (metric scale 0-1).
MIN_BY_KIND = {"classification": 0.70, "extraction": 0.50, "generation": 0.30}
# Failures concentrated on one confused pair of labels suggest the spec is unclear.
AMBIGUITY_SHARE = 0.6


def target_for(spec: TaskSpec, teacher: float | None) -> float:
    """The metric to reach: the user's target, else beat the teacher and the floor."""
    if spec.target is not None:
        return spec.target
    return max(MIN_BY_KIND.get(spec.kind, 0.5), teacher or 0.0)


def choose(spec: TaskSpec, state: dict, calls_used: int, autopilot: bool,
           min_round_minutes: float = 0.0) -> tuple[str, str]:
    """(action, reason): export | generate | train | clarify."""
    rounds = state.get("rounds") or []
    last = rounds[-1]["summary"]
    student, teacher = last.get("student"), last.get("teacher")
    target = target_for(spec, teacher)
    if student is not None and student >= target:
        return "export", f"target met: student {student:.3f} >= {target:.3f}"
    minutes = (time.time() - (state.get("started_at") or time.time())) / 60
    if (why := budget_left(spec, len(rounds), minutes, calls_used, min_round_minutes)) is not None:
        return "export", f"budget spent ({why}); exporting the best round so far"
    failures = state.get("failures") or []
    total = sum(f.get("count", 0) for f in failures) or 1
    top = max(failures, key=lambda f: f.get("count", 0), default=None)
    if (not autopilot and top and spec.kind == "classification" and "->" in top.get("name", "")
            and top["count"] / total >= AMBIGUITY_SHARE and state.get("questions_asked", 0) < 3):
        return "clarify", (f"{top['count']} of {total} errors are '{top['name']}': the difference "
                           "between these labels may be unclear")
    previous = [r["summary"].get("student") or 0.0 for r in rounds[:-1]]
    stalled = previous and (student or 0.0) - max(previous) < 0.01
    if stalled and (state.get("decisions") or [{}])[-1].get("action") == "generate":
        return "train", "more data did not help; training longer"
    return "generate", (f"student {student if student is not None else float('nan'):.3f} is below "
                        f"{target:.3f}; generating data targeted at {len(failures)} failure groups")


def decide(state: AgentState, runtime: Runtime[AgentContext]) -> Command:
    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    calls = int((state.get("spent") or {}).get("llm_calls", 0))
    # a loop back costs at least one training run: don't start one that cannot finish
    action, reason = choose(spec, state, calls, ctx.autopilot, min_round_minutes=ctx.sizes.train_minutes / 2)
    decision = {"round": state.get("round"), "action": action, "reason": reason}
    ctx.store.record("events", {"session_id": state["session_id"], "kind": "decision",
                                "payload": decision})
    ctx.emit("decision", **decision)
    update = {**say(f"Round {state.get('round')}: {reason}.", "decision"),
              "decisions": [decision], "next_action": action}
    if action == "train":
        over = dict(state.get("train_overrides") or {})
        over["epochs_factor"] = over.get("epochs_factor", 1) * 2
        update["train_overrides"] = over
    if action == "clarify":
        pair = max(state.get("failures") or [], key=lambda f: f.get("count", 0))["name"]
        update["pending_question"] = (f"Many errors are '{pair}'. How should the model tell "
                                      "these apart? (a rule, or an example of each)")
        update["approved"] = False
    goto = {"export": "export", "generate": "generate", "train": "train",
            "clarify": "clarify"}[action]
    return Command(goto=goto, update=update)
