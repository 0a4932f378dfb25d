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


class SpecProposal(BaseModel):
    """The model's reading of a task description."""

    kind: Literal["classification", "extraction", "generation"]
    labels: list[Short] = Field(default_factory=list, max_length=20)
    input_format: Line = ""
    output_format: Line = ""


class ClarifyDecision(BaseModel):
    """Ask the user one question, or proceed."""

    action: Literal["ask", "proceed"]
    question: Line = ""


class SpecEdit(BaseModel):
    """Changes the user asked for; empty fields mean no change."""

    instruction: Line = ""
    labels: list[Short] = Field(default_factory=list, max_length=20)
    target: float | None = None


INTAKE_SYSTEM = (
    "You turn a task description into a task specification. kind is classification "
    "(pick one label), extraction (copy an answer from the input) or generation (write "
    "new text). labels: only for classification, exactly as the user wrote them. "
    "input_format and output_format: a few words each."
)


def intake_messages(description: str) -> list[tuple[str, str]]:
    return [("system", INTAKE_SYSTEM), ("user", f"Task description:\n{description}")]


CLARIFY_SYSTEM = (
    "You check a task specification before a model is trained for it. If one thing is "
    "missing or ambiguous and a wrong guess would waste the training, ask ONE short "
    "question about it. Never ask about anything the specification already states. "
    "Otherwise answer proceed."
)


def clarify_messages(spec: dict, answered: list[str]) -> list[tuple[str, str]]:
    shown = {k: spec[k] for k in ("instruction", "kind", "labels", "input_format",
                                  "output_format") if k in spec}
    shown["examples"] = len(spec.get("demonstrations") or [])
    user = "Specification:\n" + json.dumps(shown, ensure_ascii=False)
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
    "The user wants to change a task specification. Return only the fields they want "
    "changed; leave the others empty."
)


def edit_messages(spec: dict, request: str) -> list[tuple[str, str]]:
    shown = {k: spec.get(k) for k in ("instruction", "labels", "target")}
    return [("system", EDIT_SYSTEM),
            ("user", f"Specification: {json.dumps(shown, ensure_ascii=False)}\nChange: {request}")]
