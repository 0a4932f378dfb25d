"""clarify: ask one focused question when the spec has a real gap, else move on.

Gaps the code sees for sure (agent/gaps.py: no labels, labels only exemplified,
a stated label count that doesn't match, a contradiction, an undefined output)
are asked first. Then, with a capable teacher, the model's structured decision
(open_deep_research's clarify_with_user) may raise one more (ambiguous label
boundaries, ...); a question about something the spec already states is
discarded. At most MAX_QUESTIONS questions; after that, or on autopilot, the
defaults are taken, except where a run would be a guess (no labels at all).
"""

from __future__ import annotations

import re

from langgraph.runtime import Runtime
from langgraph.types import Command

from agent import prompts
from agent.context import AgentContext
from agent.gaps import BLOCKING, Gap, code_gaps
from agent.human import MAX_QUESTIONS, apply_reply, ask_user, diff_text, is_approval
from agent.state import AgentState, say
from tools.contracts import TaskSpec
from tools.llm import LLMError, weak_teacher
from tools.spec_parse import parse_description

_ONLY_THESE = re.compile(r"(?i)\b(only|just|keep)\s+(these|them|those|the \w+ (?:i|you) (?:named|listed))\b")
_FOLD_INTO_INSTRUCTION = {"loop_back", "label_boundaries", "contradiction", "other"}
_STOPS = {
    "too_vague": ("too_vague", "I can't continue on autopilot: the description doesn't say what the "
                  "model should do. Describe the task in a sentence with two or three examples."),
    "labels_unknown": ("no_labels", "I can't continue on autopilot: the description names no labels. "
                       "Run again with the labels in the description (e.g. 'as billing, technical "
                       "or other')."),
}


def _model_gap(spec: TaskSpec, state: AgentState, ctx, hints: list[Gap]) -> Gap | None:
    """The model's one question, if it has a legitimate one."""
    try:
        d = ctx.client.structured(prompts.clarify_messages(spec.model_dump(), state.get("answered") or [],
                                                           [g.hint() for g in hints]),
                                  prompts.ClarifyDecision, purpose="clarify", max_tokens=200)
    except LLMError:
        return None
    if d.action != "ask" or not d.question.strip():
        return None
    kind = d.gap or "other"
    if kind == "other" and getattr(ctx.client, "embedded_hint", False):
        # measured (evals/conversation.py): the embedded 1.5B model's untyped questions were
        # about the spec's own fields or repeated an answered one; typed gaps stay checkable
        return None
    stated = {"labels_unknown": len(spec.labels) >= 2 and not spec.labels_exemplified,
              "no_examples": bool(spec.demonstrations),
              "output_undefined": bool(spec.demonstrations) or spec.kind == "classification"}
    if stated.get(kind) or kind in (state.get("asked_gaps") or []):
        return None  # never ask what the spec states, or the same thing twice
    return Gap(kind, d.question.strip())


def next_gap(spec: TaskSpec, state: AgentState, ctx) -> Gap | None:
    """The question to ask now, or None to move on."""
    if state.get("pending_question"):
        return Gap("loop_back", state["pending_question"])
    asked = set(state.get("asked_gaps") or [])
    gaps = [g for g in code_gaps(spec, state.get("description", "")) if g.kind not in asked]
    if ctx.autopilot:
        return next((g for g in gaps if g.kind in BLOCKING), None)
    must = [g for g in gaps if g.kind != "no_examples"]
    if must:
        return must[0]
    if not weak_teacher(ctx.client):  # a capable model judges the soft gaps (no examples, ...)
        if state.get("questions_asked", 0) >= MAX_QUESTIONS:
            return None
        return _model_gap(spec, state, ctx, gaps)
    return gaps[0] if gaps else None


def clarify(state: AgentState, runtime: Runtime[AgentContext]) -> Command:
    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    asked = state.get("questions_asked", 0)
    gap = next_gap(spec, state, ctx)
    if gap is None:
        return Command(goto="confirm_spec")
    if ctx.autopilot or asked >= MAX_QUESTIONS:
        # no labels but data to read them from: find_data adopts the data's set (or stops)
        from_data = gap.kind == "labels_unknown" and (state.get("data_files") or state.get("catalogs"))
        if gap.kind in _STOPS and not from_data:
            error, msg = _STOPS[gap.kind]
            return Command(goto="__end__", update={**say(msg, "error"), "error": error})
        note = (f"I have asked {asked} questions; going on with the defaults shown below."
                if asked >= MAX_QUESTIONS else "")
        return Command(goto="confirm_spec", update=say(note, "text") if note else {})
    reply, notes = ask_user({"kind": "question", "message": gap.question, "gap": gap.kind,
                             "options": gap.options}, state, ctx)
    update = {"messages": notes, "questions_asked": asked + 1, "pending_question": "",
              "asked_gaps": (state.get("asked_gaps") or []) + [gap.kind],
              "answered": (state.get("answered") or []) + [f"{gap.question} -> {reply}"]}
    if is_approval(reply):  # "default", "ok" (the front ends' "Use defaults"): nothing to fold in
        return Command(goto="clarify", update=update)
    # an answer that states a rule (label boundaries, a contradiction) is no edit: no model call
    reader = None if gap.kind in _FOLD_INTO_INSTRUCTION else ctx.client
    new, diff, ignored, files = apply_reply(spec, reply, reader, question=gap.question, gap=gap.kind)
    if gap.kind == "labels_exemplified" and _ONLY_THESE.search(reply):
        new = new.model_copy(update={"labels_exemplified": False, "label_count": None,
                                     "version": spec.version + 1})
        diff = diff + [f"labels: only {', '.join(new.labels)}"]
    if gap.kind == "too_vague":  # the answer is the description the first one lacked
        try:
            new = parse_description(f"{state.get('description', '')}\n{reply}")
            new.version, diff = spec.version + 1, [f"task re-read from your answer: {new.kind}"]
        except ValueError:
            pass
    if files:
        update["data_files"] = list(dict.fromkeys((state.get("data_files") or []) + files))
        diff = diff + [f"training data: + {f}" for f in files]
    if not diff and reply.strip() and gap.kind in _FOLD_INTO_INSTRUCTION:
        # "refund requests are billing": a rule the teacher must see, so it joins the instruction
        new = new.model_copy(update={"instruction": f"{spec.instruction} {reply.strip()[:300]}",
                                     "version": spec.version + 1})
        diff = [f"instruction: + {reply.strip()[:300]}"]
    if not diff:  # kept as context for the next question and for the spec's instruction
        update["description"] = f"{state.get('description', '')}\n{reply}".strip()
    else:
        update["spec"] = new.model_dump()
        update["spec_diff"], update["spec_ignored"] = diff, ignored
        notes.append({"role": "assistant", "kind": "spec_diff", "content": diff_text(diff, ignored),
                      "diff": diff})
    return Command(goto="clarify", update=update)
