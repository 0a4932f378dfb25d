"""The teacher's evaluation prompt (the spec's few-shot prompt) and its parsing.

Every prompt the evaluator sends is built here; tests/test_evaluate_prompts.py
pins the exact text, so a change is deliberate.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, create_model

from tools.contracts import TaskSpec

MAX_SHOTS = 8


def system_prompt(spec: TaskSpec) -> str:
    """The instruction plus the output rule for the task kind."""
    rule = {
        "classification": "Answer with exactly one label from this list: {labels}. "
                          "Reply with the label only.",
        "extraction": "Reply with the answer only, copied from the input where possible.",
        "generation": "Reply with the output only, no explanation.",
    }[spec.kind].format(labels=", ".join(spec.labels))
    return f"{spec.instruction.strip()}\n{rule}"


def teacher_messages(spec: TaskSpec, text: str) -> list[tuple[str, str]]:
    """System rule, the spec's demonstrations as chat turns, then the input."""
    msgs = [("system", system_prompt(spec))]
    for d in spec.demonstrations[:MAX_SHOTS]:
        msgs += [("user", d.input), ("assistant", d.output)]
    msgs.append(("user", text))
    return msgs


def answer_schema(spec: TaskSpec, max_chars: int = 300) -> type[BaseModel]:
    """The teacher's reply schema when it does the task: for classification the labels
    are an enum, so a server that enforces schemas can only answer with a label
    (the teacher is scored on what it knows, not on how it formats)."""
    if spec.kind == "classification" and spec.labels:
        out = (Literal[tuple(spec.labels)], ...)
    else:
        out = (str, Field(min_length=1, max_length=max_chars))
    return create_model("TeacherAnswer", __doc__="The answer to the task for one input.", output=out)


def parse_label(reply: str, labels: list[str]) -> str | None:
    """Map a teacher reply to a label (case-insensitive); None when unparseable.

    Accepts the bare label (with stray quotes/punctuation) or a reply that names
    exactly one label as a word; anything else is unparseable and counted wrong.
    """
    if not isinstance(reply, str):
        return None
    by_lower = {l.lower(): l for l in labels}
    bare = reply.strip().strip("\"'`.*:!").strip().lower()
    if bare in by_lower:
        return by_lower[bare]
    named = {l for l in labels if re.search(rf"(?<!\w){re.escape(l.lower())}(?!\w)", reply.lower())}
    return named.pop() if len(named) == 1 else None
