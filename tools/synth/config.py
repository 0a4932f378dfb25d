"""Knobs of a generation round, and the reply schemas the teacher must fill."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, Field, create_model

from tools.contracts import TaskSpec

ANY = "*"
"""AttributeGrid.topics key for subjects that fit every output (text-to-text tasks)."""


class AttributeGrid(BaseModel):
    """Subjects per label (or ANY), styles and lengths that requests vary over.

    The teacher proposes them per spec (kept in the round's record); subjects the
    teacher keeps repeating itself on are retired during the round.
    """

    topics: dict[str, list[str]] = Field(description="label (or '*') -> subjects")
    styles: list[str] = Field(min_length=1, max_length=12)
    source: str = Field(default="teacher", description="teacher | fallback | given")

    def for_label(self, label: str | None) -> list[str]:
        """The subjects to use for requests of `label` (ANY's when it has none)."""
        return self.topics.get(label or ANY) or self.topics.get(ANY) or \
            [t for ts in self.topics.values() for t in ts]


class ProposedAttributes(BaseModel):
    """Subjects the task's inputs could be about, and writing styles."""

    # max_length on every string: small models otherwise ramble inside one.
    topics: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(min_length=2, max_length=16)
    styles: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(min_length=1, max_length=6)


class SynthConfig(BaseModel):
    """How one round generates and filters. Defaults suit a remote teacher."""

    # throughput and cost
    concurrency: int = Field(default=4, ge=1, description="requests in flight at once")
    rpm: float | None = Field(default=None, gt=0, description="request starts per minute")
    items_per_request: int = Field(default=6, ge=1, le=20,
                                   description="examples asked for in one request (one prompt, k items)")
    max_calls: int | None = Field(default=None, ge=0, description="paid calls allowed this round")
    max_tokens: int | None = Field(default=None, ge=0, description="paid tokens allowed this round")
    max_seconds: float | None = Field(default=None, gt=0,
                                      description="wall time of the round; no request starts after it")
    attempts_factor: float = Field(default=3.0, ge=1.0,
                                   description="at most factor x n requested items per round")
    stall_after: int | None = Field(default=None, ge=1,
                                    description="end the round after this many requests in a row "
                                    "with nothing accepted (default max(8, 3 x concurrency))")
    # diversity
    temperature_start: float = 0.7
    temperature_end: float = 1.0
    demos_per_prompt: int = Field(default=4, ge=0)
    attributes: AttributeGrid | None = None
    propose_attributes: bool = True
    topics_per_label: int = Field(default=10, ge=2, le=16)
    retire_after: int = Field(default=4, ge=1,
                              description="items of a subject seen before its duplicate rate counts")
    retire_dup_rate: float = Field(default=0.5, gt=0, le=1,
                                   description="a subject whose items are duplicates this often is retired")
    # filters
    consistency_k: int = Field(default=0, ge=0, description="teacher re-answers per example; 0 = off")
    consistency_temperature: float = Field(default=0.7, description="for answers after the first")
    consistency_f1: float = Field(default=0.5, description="generation: token F1 counted as agreeing")
    near_dup_threshold: float | None = Field(default=0.92, description="cosine; None = exact only")
    overlap_threshold: float | None = Field(default=0.92, description="cosine vs eval inputs")
    min_input_words: int = Field(default=2, ge=1)
    max_input_chars: int = Field(default=600, ge=20)
    max_output_chars: int = Field(default=300, ge=1)

    def max_requests(self, n: int) -> int:
        """Generation requests allowed for a target of n accepted examples."""
        return math.ceil(self.attempts_factor * n / self.items_per_request)

    def stall_limit(self) -> int:
        """Consecutive requests without an accepted example that end the round."""
        return self.stall_after or max(8, 3 * self.concurrency)

    def temperature(self, index: int, n_requests: int) -> float:
        """Temperature ramp over the round: focused first, more varied later."""
        frac = min(1.0, index / max(1, n_requests - 1))
        return round(self.temperature_start + (self.temperature_end - self.temperature_start) * frac, 3)

    def output_chars(self, spec: TaskSpec) -> int:
        """Output length cap: a label for classification, else the configured cap."""
        if spec.kind == "classification" and spec.labels:
            return max(len(x) for x in spec.labels) + 8  # slack for case/punctuation slips
        return self.max_output_chars

    def gen_max_tokens(self, spec: TaskSpec, k: int, with_outputs: bool) -> int:
        """Completion-token cap for one request of k items (JSON overhead included)."""
        per_item = self.max_input_chars // 3 + (self.output_chars(spec) // 3 if with_outputs else 0) + 12
        return min(4096, k * per_item + 24)


def inputs_schema(k: int, config: SynthConfig) -> type[BaseModel]:
    """Reply schema when the label is given: a list of at most k inputs."""
    text = Annotated[str, Field(min_length=1, max_length=config.max_input_chars)]
    return create_model("SyntheticInputs", __doc__="New inputs that have the requested output.",
                        inputs=(list[text], Field(min_length=1, max_length=k)))


def pair_model(spec: TaskSpec, config: SynthConfig) -> type[BaseModel]:
    """One (input, output) pair with length caps; labels as an enum for classification.

    The enum lets a server that enforces schemas (llama.cpp grammars, OpenAI)
    write only a label; validation stays lenient so the label filter, not a
    parse error, names a wrong one.
    """
    extra = {"enum": list(spec.labels)} if spec.kind == "classification" and spec.labels else None
    return create_model(
        "SyntheticExample", __doc__="One new training example: an input and its correct output.",
        input=(str, Field(min_length=1, max_length=config.max_input_chars)),
        output=(str, Field(min_length=1, max_length=config.output_chars(spec), json_schema_extra=extra)))


def pairs_schema(spec: TaskSpec, k: int, config: SynthConfig) -> type[BaseModel]:
    """Reply schema for at most k (input, output) pairs."""
    return create_model("SyntheticExamples", __doc__="New training examples.",
                        examples=(list[pair_model(spec, config)], Field(min_length=1, max_length=k)))
