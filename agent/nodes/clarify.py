"""clarify: ask one focused question when the spec has a gap, else move on.

Gaps the code can see (no labels for a classification task, a description too
vague to act on) are asked about first. When the spec looks complete and a
capable teacher is connected, the model may raise one ambiguity; the embedded
135M model asks off-target questions, so it is not consulted.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent import prompts
from agent.context import AgentContext
from agent.human import MAX_QUESTIONS, apply_edit, ask_user
from agent.state import AgentState, say
from tools.contracts import TaskSpec
from tools.llm import LLMError
from tools.spec_parse import find_demonstrations, parse_description


def known_gap(spec: TaskSpec, description: str) -> str | None:
    """The question the code must ask, or None."""
    words = len(description.split())
    if words < 4 and not spec.demonstrations:
        return ("What should the model do? Describe the task in a sentence and give two or "
                "three examples like 'input' -> output.")
    if spec.kind == "classification" and len(spec.labels) < 2:
        return "Which labels should the model choose from? (for example: billing, technical, other)"
    return None


def clarify(state: AgentState, runtime: Runtime[AgentContext]) -> Command:
    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    asked = state.get("questions_asked", 0)
    question = state.get("pending_question") or known_gap(spec, state.get("description", ""))
    if question is None and not ctx.autopilot and not ctx.client.is_embedded and asked < MAX_QUESTIONS:
        try:
            d = ctx.client.structured(prompts.clarify_messages(spec.model_dump(),
                                                               state.get("answered") or []),
                                      prompts.ClarifyDecision, purpose="clarify", max_tokens=200)
            if d.action == "ask" and d.question.strip():
                question = d.question.strip()
        except LLMError:
            question = None
    if question is None:
        return Command(goto="confirm_spec")
    if ctx.autopilot or asked >= MAX_QUESTIONS:
        # Can't ask: without labels a classification run would be a guess.
        if question.startswith("What should the model do"):
            msg = ("I can't continue on autopilot: the description doesn't say what the model "
                   "should do. Describe the task in a sentence with two or three examples.")
            return Command(goto="__end__", update={**say(msg, "error"), "error": "too_vague"})
        if spec.kind == "classification" and len(spec.labels) < 2:
            msg = ("I can't continue on autopilot: the description names no labels. "
                   "Run again with the labels in the description (e.g. 'as billing, technical or other').")
            return Command(goto="__end__", update={**say(msg, "error"), "error": "no_labels"})
        return Command(goto="confirm_spec")
    reply, notes = ask_user({"kind": "question", "message": question}, state, ctx)
    update = {"messages": notes, "questions_asked": asked + 1, "pending_question": "",
              "answered": (state.get("answered") or []) + [f"{question} -> {reply}"]}
    new = _apply_answer(spec, state.get("description", ""), question, reply, ctx)
    update["spec"] = new.model_dump()
    if new.model_dump() == spec.model_dump():
        update["description"] = f"{state.get('description', '')}\n{reply}".strip()
    return Command(goto="clarify", update=update)


def _apply_answer(spec: TaskSpec, description: str, question: str, reply: str, ctx) -> TaskSpec:
    """Fold the user's answer into the spec."""
    if not reply:
        return spec
    if "labels" in question.lower():
        new, _ = apply_edit(spec, f"labels: {reply}" if "," in reply or " or " in reply else reply,
                            ctx.client)
        return new
    if question.startswith("What should the model do"):
        try:
            reparsed = parse_description(f"{description}\n{reply}")
            reparsed.version = spec.version + 1
            return reparsed
        except ValueError:
            return spec
    demos = find_demonstrations(reply)
    new = spec.model_copy(deep=True)
    new.demonstrations += demos
    new.instruction = f"{spec.instruction} ({reply.strip()[:200]})" if not demos else spec.instruction
    new.version = spec.version + 1
    return new
