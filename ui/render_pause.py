"""A pause of the agent as a view every front end renders natively: text, choices, rows.

A pause is a LangGraph interrupt whose payload the nodes write (agent/nodes/*.py,
through agent.human.ask_user). `pause_view` turns it into one front-end neutral
`PauseView`; the web shows its choices as buttons and its rows as radios, Slack
as Block Kit buttons and selects, the terminal as a hint line. Whatever the
user clicks becomes the same text a terminal user would type (`Choice.reply`,
`verdict_reply`), so the agent parses one kind of answer from every front end.

Pure functions: no gradio or slack import here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.gaps import BLOCKING

WRONG = "wrong"
"""The verify choice for "the teacher's label is wrong and I don't give one" (no gold row)."""
DEFAULTS = "default"
"""The reply of "Use defaults" at a question (agent.human.APPROVALS: no edit, go on)."""
_NUMBERED = re.compile(r"^\s*(?:\|\s*)?(\d+)[.|]\s*(?:\|\s*)?([^\s|(]+)", re.MULTILINE)


@dataclass(frozen=True)
class Choice:
    """One quick reply: the button text and the text sent as if typed."""

    label: str
    reply: str
    send: bool = True
    """False: `reply` only starts the user's own text (Edit): put it in the input box."""


@dataclass(frozen=True)
class Row:
    """One teacher-labelled input at verify_labels."""

    i: int
    """1-based, the number the typed reply uses ('3: billing')."""
    input: str
    label: str
    """The teacher's label."""
    labels: tuple[str, ...] = ()
    """The task's label set."""

    def options(self) -> list[tuple[str, str]]:
        """(shown, value) pairs: the teacher's label marked, the other labels, then 'wrong'."""
        others = [(lab, lab) for lab in self.labels if lab != self.label]
        return [(f"{self.label} (teacher)", self.label), *others, (WRONG, WRONG)]


@dataclass(frozen=True)
class PauseView:
    """What a front end shows for a pause."""

    kind: str
    title: str
    body: str
    """Markdown for front ends that render the choices and rows natively (diff as a block)."""
    text: str
    """The whole message as the terminal prints it (note first)."""
    choices: list[Choice] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    typing: str = ""
    """What else may be typed, for the hint line."""


def diff_block(diff: list[str]) -> str:
    """Spec diff lines ('labels: a -> a, b') as a markdown ```diff block ('' without lines)."""
    out = []
    for line in diff:
        name, sep, change = line.partition(": ")
        old, arrow, new = change.partition(" -> ")
        if sep and arrow:
            out += [f"- {name}: {old}", f"+ {name}: {new}"]
        elif line.startswith("refused "):
            out.append(f"! {line}")
        else:
            out.append(f"+ {line.replace(': + ', ': ')}")
    return "```diff\n" + "\n".join(out) + "\n```" if out else ""


def _with_note(payload: dict, text: str) -> str:
    note = payload.get("note")
    return f"{note}\n\n{text}" if note else text


def _spec_body(message: str, diff: list[str]) -> str:
    """confirm_spec's message with its 'Changes:' list shown as a diff block."""
    if not diff or not message.startswith("Changes:"):
        return message
    head, _, rest = message.partition("\n\n")
    ignored = [line for line in head.splitlines() if line.startswith("Ignored:")]
    return "\n\n".join([diff_block(diff), *ignored, rest])


def _question(p: dict) -> tuple[list[Choice], str]:
    choices = [Choice(o, o) for o in p.get("options") or [] if o]
    if p.get("gap") not in BLOCKING:  # no labels / no task: there is no default to go on with
        choices.append(Choice("Use defaults", DEFAULTS))
    return choices, "or type your answer"


def _model_options(p: dict) -> list[str]:
    if p.get("options"):
        return list(p["options"])
    # a session paused before payloads carried the options: read the numbered list
    return [name for _, name in _NUMBERED.findall(p.get("message", ""))]


def pause_view(payload: dict | None) -> PauseView | None:
    """The view of a pause payload (None when there is no pause)."""
    if not payload:
        return None
    p, kind = payload, payload.get("kind", "question")
    message = str(p.get("message", ""))
    text = _with_note(p, message)
    diff = list(p.get("diff") or [])
    body, choices, rows, typing = text, [], [], ""
    title = {"question": "A question", "confirm_spec": "Approve the spec?",
             "pick_data": "Pick the training data", "adopt_labels": "Use the data's labels?",
             "pick_model": "Pick a base model", "verify_labels": "Are these labels right?"}.get(kind, kind)
    if kind == "question":
        choices, typing = _question(p)
    elif kind == "confirm_spec":
        body = _with_note(p, _spec_body(message, diff))
        choices = [Choice("Approve", "yes"), Choice("Edit", "change ", send=False)]
        typing = "or say what to change"
    elif kind == "pick_data":
        choices = [Choice(f"{i}: {o}", str(i)) for i, o in enumerate(p.get("options") or [], 1)][:8]
        choices.append(Choice("None (synthetic only)", "none"))
        typing = "or several numbers, e.g. '1,2'"
    elif kind == "pick_model":
        choices = [Choice(f"{i}: {o}", str(i)) for i, o in enumerate(_model_options(p), 1)][:8]
    elif kind == "adopt_labels":
        choices = [Choice(o, o) for o in p.get("options") or []]
    elif kind == "verify_labels":
        labels = tuple(p.get("labels") or [])
        rows = [Row(int(it["i"]), str(it["input"]), str(it["label"]), labels) for it in p.get("items") or []]
        body = _with_note(p, message.split("\n", 1)[0])  # the intro; the rows are rendered natively
        choices = [Choice("All correct", "all correct"), Choice("Skip", "skip")]
        typing = "or corrections like '3: billing; 5 wrong'"
    return PauseView(kind, title, body, text, choices, rows, diff, typing)


def hint_line(view: PauseView | None) -> str:
    """The choices as one line for the terminal: "Reply: yes (Approve) | ... ; or say what to change"."""
    if view is None or not (view.choices or view.typing):
        return ""
    def said(c: Choice) -> str:  # the label when it is what to type ('1: ag_news', 'skip')
        return c.label if re.split(r":| \(", c.label.lower())[0] == c.reply.lower() else f"{c.reply} ({c.label})"
    parts = [said(c) for c in view.choices if c.send]
    if not parts:
        return "Reply: " + view.typing.removeprefix("or ")
    return "Reply: " + " | ".join(parts) + (f"; {view.typing}" if view.typing else "")


def verdict_reply(rows: list[Row], picks: dict[int, str | None] | list[str | None]) -> str:
    """Per-row choices at verify_labels as the text the agent parses (agent.nodes.verify).

    `picks` maps a row number (Row.i) to its chosen label or WRONG, or lists them in
    row order; a row without a pick keeps the teacher's label. Every row kept
    -> 'all correct'; else the changes: '2: other; 4 wrong'.
    """
    if not isinstance(picks, dict):
        picks = {r.i: v for r, v in zip(rows, picks)}
    parts = []
    for r in rows:
        pick = picks.get(r.i)
        if not pick or pick == r.label:
            continue
        # the parser reads a label up to ',' or ';': a label holding them can only be marked wrong
        parts.append(f"{r.i} wrong" if pick == WRONG or re.search(r"[,;\n]", pick) else f"{r.i}: {pick}")
    reply = "; ".join(parts) if parts else "all correct"
    # a reply ending in '?' is taken for a question (agent.human.is_question): close it
    return reply + ";" if reply.endswith("?") else reply
