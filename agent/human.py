"""Talking to the user at an interrupt: ask, answer their questions, apply edits.

Every pause goes through `ask_user`, so free text works the same everywhere:
a question is answered from the session's facts and the pause repeats; an
edit to the spec is recognised (`looks_like_edit`) and applied by the caller;
anything else is the user's answer. Autopilot never pauses.
"""

from __future__ import annotations

import re

from langgraph.types import interrupt

from agent import prompts
from tools.contracts import TaskSpec
from tools.llm import LLMError
from tools.spec_parse import find_demonstrations

APPROVALS = {"", "y", "yes", "ok", "okay", "approve", "approved", "go", "go ahead", "proceed",
             "continue", "sure", "lgtm", "looks good", "fine", "default", "next"}
_QUESTION = re.compile(r"(?i)^(what|why|how|which|when|where|who|can|could|does|do|is|are|will|should)\b")
_EDIT = re.compile(r"(?i)^\s*(change|edit|set|use|make|add|remove|rename|labels?\s*[:=]|"
                   r"target\s*[:=]|instruction\s*[:=]|kind\s*[:=]|budget\s*[:=])")
MAX_QUESTIONS = 3


def is_approval(text: str) -> bool:
    return text.strip().lower().rstrip(".!") in APPROVALS


def is_question(text: str) -> bool:
    t = text.strip()
    return t.endswith("?") or bool(_QUESTION.match(t) and len(t.split()) > 2)


def looks_like_edit(text: str) -> bool:
    return bool(_EDIT.match(text))


def facts(state: dict) -> dict:
    """What the assistant may say about the session when asked."""
    rounds = state.get("rounds") or []
    return {"spec": state.get("spec"), "round": state.get("round"),
            "datasets": [c.get("id") for c in state.get("chosen_data") or []],
            "base_model": (state.get("chosen_model") or {}).get("id"),
            "results": [r.get("summary") for r in rounds],
            "decisions": state.get("decisions"), "budget_spent": state.get("spent")}


_TOPICS = [  # (keywords, answer from state); checked in order
    (("base model", "model", "architecture"), lambda st: (
        f"The base model is {st['chosen_model'].get('id')}." if st.get("chosen_model") else
        "I pick the base model after the data search: the packaged all-MiniLM-L6-v2 encoder "
        "for classification, SmolLM2-135M for text generation, or a Hub model that fits "
        "the size cap when online.")),
    (("metric", "measure", "evaluat", "score", "accuracy"), lambda st: (
        f"The metric is {(st.get('spec') or {}).get('metric')}; target: "
        f"{(st.get('spec') or {}).get('target') or 'beat the teacher on held-out data'}. "
        f"Evaluation: {st.get('eval_source') or 'a real test split when a dataset has one, else held-out data'}.")),
    (("dataset", "data", "examples"), lambda st: (
        f"Training data: {', '.join(c['id'] for c in st['chosen_data'])} plus synthetic examples."
        if st.get("chosen_data") else "I search the Hub index and your catalogs once you approve, "
        "then add synthetic examples from the teacher.")),
    (("budget", "cost", "calls", "spend", "spent", "long", "time"), lambda st: (
        f"Budget: {(st.get('spec') or {}).get('budget')}; spent so far: {st.get('spent') or 'nothing'}.")),
    (("label",), lambda st: f"Labels: {(st.get('spec') or {}).get('labels') or 'none (not a classification task)'}."),
]


def answer_from_state(question: str, state: dict) -> str | None:
    """A factual answer for common questions, without a model call."""
    q = question.lower()
    for words, answer in _TOPICS:
        if any(w in q for w in words):
            return answer(state)
    return None


def answer_question(question: str, state: dict, ctx) -> str:
    """Answer from session facts; the model only for what the facts table doesn't cover."""
    if (known := answer_from_state(question, state)) is not None:
        return known
    if ctx.client.is_embedded:  # the 135M model rambles; say what can be asked instead
        return ("I can answer questions about the task spec, labels, data, base model, metric "
                "and budget. Reply 'yes' to approve, or say what to change.")
    try:
        return ctx.client.chat(prompts.answer_messages(question, facts(state)),
                               purpose="answer", max_tokens=160).strip()
    except LLMError as e:
        return f"I couldn't answer that right now ({e})."


def ask_user(payload: dict, state: dict, ctx, default: str = "") -> tuple[str, list[dict]]:
    """Pause for the user; returns (reply, messages to append). Autopilot -> default."""
    if ctx.autopilot:
        return default, []
    notes: list[dict] = [{"role": "assistant", "content": payload.get("message", ""),
                          "kind": payload.get("kind", "question")}]
    note = None
    while True:
        reply = interrupt({**payload, "note": note})
        text = str(reply if reply is not None else "").strip()[:10000]
        notes.append({"role": "user", "content": text, "kind": "reply"})
        if text and is_question(text) and not looks_like_edit(text):
            note = answer_question(text, state, ctx)
            notes.append({"role": "assistant", "content": note, "kind": "answer"})
            continue
        return text, notes


def apply_edit(spec: TaskSpec, text: str, client) -> tuple[TaskSpec, str]:
    """Apply a user's edit request to the spec; returns (new spec, what changed)."""
    new = spec.model_copy(deep=True)
    changed: list[str] = []
    if m := re.search(r"(?i)labels?\s*[:=]?\s*(?:to\s+)?(.+)$", text):
        if "," in m[1] or " or " in m[1]:
            labels = [l.strip(" .'\"") for l in re.split(r",|\bor\b|\band\b", m[1]) if l.strip(" .'\"")]
            new.labels, new.kind = labels, "classification"
            changed.append(f"labels -> {labels}")
    if m := re.search(r"(?i)target\s*[:=]?\s*(?:to\s+)?([0-9.]+)\s*(%?)", text):
        val = float(m[1]) / (100 if m[2] or float(m[1]) > 1 else 1)
        new.target = val
        changed.append(f"target -> {val:g}")
    if m := re.search(r"(?i)instruction\s*[:=]\s*(.+)$", text):
        new.instruction = m[1].strip()
        changed.append("instruction")
    if m := re.search(r"(?i)budget\s*[:=]?\s*(\d+)\s*(calls?|minutes?|rounds?|tokens?)", text):
        field = {"call": "max_llm_calls", "minu": "max_minutes", "roun": "max_rounds",
                 "toke": "max_tokens"}[m[2][:4].lower()]
        setattr(new.budget, field, type(getattr(new.budget, field))(m[1]))
        changed.append(f"budget {field} -> {m[1]}")
    if demos := find_demonstrations(text):
        new.demonstrations += demos
        changed.append(f"+{len(demos)} example(s)")
    if not changed:
        try:
            edit = client.structured(prompts.edit_messages(spec.model_dump(), text),
                                     prompts.SpecEdit, purpose="edit", max_tokens=300)
            if edit.instruction:
                new.instruction = edit.instruction
                changed.append("instruction")
            if edit.labels:
                new.labels = list(edit.labels)
                changed.append(f"labels -> {new.labels}")
            if edit.target is not None:
                new.target = edit.target
                changed.append(f"target -> {edit.target:g}")
        except LLMError:
            pass
    if changed:
        new.version = spec.version + 1
    return new, ", ".join(changed)
