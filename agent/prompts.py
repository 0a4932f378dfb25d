"""Every prompt the agent sends, and the schemas it asks for. Pinned by tests.

String fields carry max lengths: small models ramble inside a JSON string until
the token limit otherwise (FACTS.md), and llama.cpp turns the limits into its
grammar.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

Short = Annotated[str, StringConstraints(max_length=40)]
Line = Annotated[str, StringConstraints(max_length=160)]


GapKind = Literal["", "labels_unknown", "labels_exemplified", "label_boundaries", "no_examples",
                  "contradiction", "output_undefined", "other"]


class SpecProposal(BaseModel):
    """The model's reading of a task description."""

    kind: Literal["classification", "extraction", "generation"]
    labels: list[Short] = Field(default_factory=list, max_length=30)
    input_format: Line = ""
    output_format: Line = ""
    language: Short = ""


class ClarifyDecision(BaseModel):
    """Ask the user one question about one gap, or proceed."""

    action: Literal["ask", "proceed"]
    gap: GapKind = ""
    question: Line = ""


class SpecEdit(BaseModel):
    """Changes a reply asks for; empty fields mean no change."""

    labels: list[Short] = Field(default_factory=list, max_length=30)
    add_labels: list[Short] = Field(default_factory=list, max_length=10)
    drop_labels: list[Short] = Field(default_factory=list, max_length=10)
    target: float | None = None
    language: Short = ""
    instruction: Line = ""
    data_file: Line = ""


INTAKE_SYSTEM = (
    "You turn a task description into a task specification. kind is classification "
    "(pick one label; sorting, routing or tagging items into groups is classification), "
    "extraction (copy an answer from the input) or generation (write new text). labels: "
    "only for classification, only the ones the description names, exactly as written; "
    "none if it names none. input_format and output_format: a few words each, describing "
    "the text itself (not a file format unless the description names one). language: the "
    "language of the inputs if the description says it."
)


def intake_messages(description: str) -> list[tuple[str, str]]:
    return [("system", INTAKE_SYSTEM), ("user", f"Task description:\n{description}")]


CLARIFY_SYSTEM = (
    "You check a task specification before a model is trained for it, like a careful "
    "analyst. If one thing is missing or ambiguous and a wrong guess would waste the "
    "training, ask ONE short question about it and name the gap: labels_unknown, "
    "labels_exemplified (only examples of the labels are given), label_boundaries (two "
    "labels could be confused), no_examples, contradiction, output_undefined, or other. "
    "Never ask about anything the specification already states. Otherwise answer proceed."
)


def clarify_messages(spec: dict, answered: list[str], gaps: list[str] | None = None
                     ) -> list[tuple[str, str]]:
    shown = {k: spec[k] for k in ("instruction", "kind", "labels", "input_format",
                                  "output_format") if k in spec}
    shown["examples"] = len(spec.get("demonstrations") or [])
    user = "Specification:\n" + json.dumps(shown, ensure_ascii=False)
    if gaps:
        user += "\nChecks found:\n" + "\n".join(f"- {g}" for g in gaps)
    if answered:
        user += "\nAlready asked and answered:\n" + "\n".join(f"- {a}" for a in answered)
    return [("system", CLARIFY_SYSTEM), ("user", user)]


ANSWER_SYSTEM = (
    "You are the assistant of a tool that trains a small model for the user's task. "
    "Answer the user's question in at most three sentences using only the session facts "
    "given. If the facts don't say, say you don't know yet."
)


def answer_messages(question: str, facts: dict) -> list[tuple[str, str]]:
    return [("system", ANSWER_SYSTEM),
            ("user", "Session facts:\n" + json.dumps(facts, ensure_ascii=False, default=str)[:3000]
             + f"\n\nQuestion: {question}")]


EDIT_SYSTEM = (
    "The user replies to an assistant that is setting up a task for them. Fill only the "
    "fields the reply asks to change and leave the others empty: labels (the complete "
    "list when the reply gives the labels), add_labels, drop_labels, target (a score "
    "between 0 and 1), language (of the inputs), instruction (a new task description), "
    "data_file (a file the user wants to train on)."
)


def edit_messages(spec: dict, request: str, question: str = "") -> list[tuple[str, str]]:
    shown = {k: spec.get(k) for k in ("instruction", "kind", "labels", "target")}
    asked = f"\nAssistant asked: {question}" if question else ""
    return [("system", EDIT_SYSTEM),
            ("user", f"Specification: {json.dumps(shown, ensure_ascii=False)}{asked}\nReply: {request}")]
