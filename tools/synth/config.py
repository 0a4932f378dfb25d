"""Knobs of a generation round, and the reply schemas the teacher must fill."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, Field, create_model

from tools.contracts import TaskSpec


class AttributeGrid(BaseModel):
    """Topics and styles to vary requests over (the teacher proposes them per spec)."""

    topics: list[str] = Field(min_length=1, max_length=12)
    styles: list[str] = Field(min_length=1, max_length=6)
    source: str = Field(default="teacher", description="teacher | fallback | given")


class ProposedAttributes(BaseModel):
    """Topics or domains the task's inputs could come from, and writing styles."""

    # max_length on every string: small models otherwise ramble inside one.
    topics: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(min_length=2, max_length=12)
    styles: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(min_length=1, max_length=6)


class SynthConfig(BaseModel):
    """How one round generates and filters. Defaults suit a remote teacher."""

    # throughput and cost
    concurrency: int = Field(default=4, ge=1, description="requests in flight at once")
    rpm: float | None = Field(default=None, gt=0, description="request starts per minute")
    batch_size: int | None = Field(default=None, ge=1,
                                   description="requests planned per batch (default 8x concurrency: fewer "
                                   "pauses between batches); "
                                   "the budget is checked before each batch")
    max_calls: int | None = Field(default=None, ge=0, description="paid calls allowed this round")
    max_tokens: int | None = Field(default=None, ge=0, description="paid tokens allowed this round")
    attempts_factor: float = Field(default=3.0, ge=1.0,
                                   description="at most factor x n generation requests per round")
    stall_after: int | None = Field(default=None, ge=1,
                                    description="end the round after this many requests in a row "
                                    "with nothing accepted (default max(12, one batch))")
    parse_retries: int = Field(default=0, ge=0,
                               description="re-asks after an invalid reply (each is a paid call)")
    # diversity
    temperature_start: float = 0.5
    temperature_end: float = 1.1
    demos_per_prompt: int = Field(default=3, ge=0)
    pool_per_prompt: int = Field(default=2, ge=0, description="earlier accepted examples shown")
    attributes: AttributeGrid | None = None
    propose_attributes: bool = True
    # filters
    consistency_k: int = Field(default=1, ge=0, description="teacher re-answers per example; 0 = off")
    consistency_temperature: float = Field(default=0.7, description="for answers after the first")
    consistency_f1: float = Field(default=0.5, description="generation: token F1 counted as agreeing")
    near_dup_threshold: float | None = Field(default=0.92, description="cosine; None = exact only")
    overlap_threshold: float | None = Field(default=0.92, description="cosine vs eval inputs")
    min_input_words: int = Field(default=2, ge=1)
    max_input_chars: int = Field(default=600, ge=20)
    max_output_chars: int = Field(default=300, ge=1)

    def batch(self) -> int:
        """Requests per batch."""
        return self.batch_size or 8 * self.concurrency

    def max_attempts(self, n: int) -> int:
        """Generation requests allowed for a target of n accepted examples."""
        return math.ceil(self.attempts_factor * n)

    def stall_limit(self) -> int:
        """Consecutive requests without an accepted example that end the round."""
        return self.stall_after or max(12, self.batch())

    def temperature(self, index: int, n: int) -> float:
        """Temperature ramp over the round: focused first, more varied later."""
        frac = min(1.0, index / max(1, n - 1))
        return round(self.temperature_start + (self.temperature_end - self.temperature_start) * frac, 3)

    def output_chars(self, spec: TaskSpec) -> int:
        """Output length cap: a label for classification, else the configured cap."""
        if spec.kind == "classification" and spec.labels:
            return max(len(x) for x in spec.labels) + 8  # slack for case/punctuation slips
        return self.max_output_chars

    def gen_max_tokens(self, spec: TaskSpec) -> int:
        """Completion-token cap for one generated pair (JSON overhead included)."""
        return (self.max_input_chars + self.output_chars(spec)) // 2 + 32  # junk text: ~2 chars/token


def pair_schema(spec: TaskSpec, config: SynthConfig) -> type[BaseModel]:
    """The reply schema for one generated example, with length caps on both fields.

    For classification the JSON schema lists the labels as an enum, so a server
    that enforces schemas (llama.cpp grammars, OpenAI) can only write a label;
    validation stays lenient so that the label filter, not a parse error, names
    a wrong label from a server that does not.
    """
    extra = {"enum": list(spec.labels)} if spec.kind == "classification" and spec.labels else None
    return create_model(
        "SyntheticExample",
        __doc__="One new training example: an input and its correct output.",
        input=(str, Field(min_length=1, max_length=config.max_input_chars)),
        output=(str, Field(min_length=1, max_length=config.output_chars(spec),
                           json_schema_extra=extra)),
    )


def answer_schema(spec: TaskSpec, config: SynthConfig) -> type[BaseModel]:
    """The reply schema when the teacher answers an input (labels as an enum)."""
    if spec.kind == "classification" and spec.labels:
        out = (Literal[tuple(spec.labels)], ...)  # the server's grammar then forces a label
    else:
        out = (str, Field(min_length=1, max_length=config.output_chars(spec)))
    return create_model("TeacherAnswer", __doc__="The answer to the task for one input.",
                        output=out)
