"""Talking to the user at an interrupt: ask, answer their questions, apply edits.

Every pause goes through `ask_user`, so free text works the same everywhere:
a question is answered from the session's facts and the pause repeats;
anything else is the user's answer, which `apply_reply` turns into a spec edit
(rigid forms, plain language, or the model's reading grounded in the reply).
Autopilot never pauses.
"""

from __future__ import annotations

import re

from langgraph.types import interrupt

from agent import prompts
from tools.contracts import TaskSpec
from tools.llm import LLMError, weak_teacher
from tools.spec_edit import (
    LANGUAGES,
    SpecChange,
    apply_change,
    check_spec,
    demonstrations_in,
    grounded,
    missing_files,
    phrase_change,
    reply_labels,
    rigid_change,
)

APPROVALS = {"", "y", "yes", "ok", "okay", "approve", "approved", "go", "go ahead", "proceed",
             "continue", "sure", "lgtm", "looks good", "fine", "default", "next"}
_QUESTION = re.compile(r"(?i)^(what|why|how|which|when|where|who|can|could|does|do|is|are|will|should)\b")
_EDIT = re.compile(r"(?i)^\s*(change|edit|set|use|make|add|remove|rename|labels?\s*[:=]|"
                   r"target\s*[:=]|instruction\s*[:=]|kind\s*[:=]|budget\s*[:=])")
MAX_QUESTIONS = 3


_FINE = re.compile(r"(?i)^(?:(?:the\s+)?(?:this|that|it|labels?|spec|all|everything|plan)\s+"
                   r"(?:looks?|is|are|seems?)\s+(?:good|fine|right|ok|okay|correct|great)|"
                   r"sounds good|yes please|please go|go for it|let'?s go|do it)$")


_OK_WORDS = {"ok", "okay", "go", "ahead", "yes", "yep", "sure", "fine", "proceed", "continue",
             "please", "thanks", "great", "perfect", "good"}


def is_approval(text: str) -> bool:
    """'yes', 'ok', and replies made only of approvals ("labels look good, go")."""
    t = text.strip().lower().rstrip(".!")
    if t in APPROVALS:
        return True
    parts = [p.strip(" .!") for p in re.split(r",|;|\band\b|\bso\b", t) if p.strip(" .!")]
    return bool(parts) and all(p in APPROVALS or _FINE.match(p) or set(p.split()) <= _OK_WORDS
                               for p in parts)


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
    if weak_teacher(ctx.client):  # the 135M model rambles; say what can be asked instead
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


def read_change(spec: TaskSpec, reply: str, client, *, question: str = "",
                gap: str = "") -> tuple[SpecChange, list[str]]:
    """What a reply asks to change in the spec, and what was ignored (said back to the user).

    The rigid `key: value` forms first, then what code can read for sure (a label list
    answering a labels question, "drop X", "aim for 90%", "it's in German", a file that
    exists, 'input' -> output examples), then the model's reading of the reply, kept only
    where the reply's own words support it (tools.spec_edit.grounded).
    """
    if (rigid := rigid_change(reply)) is not None:
        return rigid, []
    change = phrase_change(reply, spec)
    if gap in ("labels_unknown", "labels_exemplified") or (not change.drop_labels and not change.add_labels
                                                            and _LABELS_CUE.search(reply)):
        if labels := reply_labels(reply):
            change.labels = labels
    if demos := demonstrations_in(reply):
        change.demonstrations = demos
    ignored = [f"file {f!r} (not found)" for f in missing_files(reply)]
    if not change.empty() or client is None:
        return change, ignored
    try:
        edit = client.structured(prompts.edit_messages(spec.model_dump(), reply, question),
                                 prompts.SpecEdit, purpose="edit", max_tokens=300)
    except LLMError:
        return change, ignored
    proposed = SpecChange(labels=list(edit.labels) or None, add_labels=list(edit.add_labels),
                          drop_labels=list(edit.drop_labels), target=edit.target,
                          language=LANGUAGES.get(edit.language.lower(), edit.language.lower()[:5]) or None,
                          instruction=edit.instruction or None,
                          data_files=[edit.data_file] if edit.data_file else [])
    kept, dropped = grounded(proposed, reply, spec)
    return kept, ignored + dropped


_LABELS_CUE = re.compile(r"(?i)\b(labels?|categories|classes|teams?|intents?|options|departments?|"
                         r"queues?|topics)\b\s*(are|:|would be|should be)")


def apply_reply(spec: TaskSpec, reply: str, client, *, question: str = "",
                gap: str = "") -> tuple[TaskSpec, list[str], list[str], list[str]]:
    """(new spec, diff lines, ignored parts, data files to add) for a reply at a pause."""
    change, ignored = read_change(spec, reply, client, question=question, gap=gap)
    new, diff = apply_change(spec, change)
    new, refused = check_spec(new, reply + "\n" + spec.instruction)
    return new, diff + [f"refused {r}" for r in refused], ignored, change.data_files


def diff_text(diff: list[str], ignored: list[str]) -> str:
    """The change as the user sees it before approving the new spec."""
    lines = ["Changes:"] + [f"- {d}" for d in diff]
    if ignored:
        lines.append("Ignored: " + "; ".join(ignored))
    return "\n".join(lines)
