"""The data-quality report of one round: numbers, a table for the UIs, a small chart."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field, computed_field

from tools.contracts import Example
from tools.llm.factory import WEAK_TEACHER_NOTE
from tools.synth.filters import FILTERS

ACCEPT_WARN = 0.5  # below this acceptance the report says the teacher struggles


class LengthStats(BaseModel):
    """Input length in words over accepted examples, plus a histogram."""

    min: int = 0
    median: float = 0.0
    max: int = 0
    bins: list[str] = Field(default_factory=list)
    counts: list[int] = Field(default_factory=list)


class DataReport(BaseModel):
    """What one generation round produced and why examples were rejected."""

    round: int
    teacher: str
    target: int
    requested: int = Field(description="generation requests made (cached or paid)")
    generated: int = Field(description="replies that parsed into an (input, output) pair")
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int] = Field(default_factory=dict,
                                               description="first failing filter -> count")
    malformed: int = Field(default=0, description="replies that were not the JSON asked for")
    errors: int = Field(default=0, description="requests the endpoint failed (no reply)")
    duplicate_rate: float = Field(default=0.0, description="duplicates / parsed pairs")
    label_counts: dict[str, int] = Field(default_factory=dict, description="accepted, by label")
    lengths: LengthStats = Field(default_factory=LengthStats)
    consistency_agreement: float | None = Field(
        default=None, description="share of teacher re-answers agreeing with the generated output")
    calls_paid: int = 0
    cache_hits: int = 0
    tokens: int = 0
    seconds: float = 0.0
    stopped: str = Field(default="target reached", description="why the round ended")
    warnings: list[str] = Field(default_factory=list)

    @computed_field
    @property
    def acceptance_rate(self) -> float:
        """Accepted examples per generation request."""
        return self.accepted / self.requested if self.requested else 0.0

    def rows(self) -> list[dict]:
        """Table rows {"metric", "value"} for a UI or a chat message."""
        rows = [("teacher", self.teacher), ("target", self.target), ("requests", self.requested),
                ("parsed pairs", self.generated), ("accepted", self.accepted),
                ("acceptance rate", f"{self.acceptance_rate:.0%}"), ("rejected", self.rejected)]
        rows += [(f"rejected: {k}", v) for k, v in self.rejected_by_reason.items()]
        rows += [("malformed replies", self.malformed), ("endpoint errors", self.errors),
                 ("duplicate rate", f"{self.duplicate_rate:.0%}")]
        if self.consistency_agreement is not None:
            rows.append(("self-consistency agreement", f"{self.consistency_agreement:.0%}"))
        if self.label_counts:
            rows.append(("labels", ", ".join(f"{k}: {v}" for k, v in self.label_counts.items())))
        rows += [("input words (min/median/max)",
                  f"{self.lengths.min}/{self.lengths.median:g}/{self.lengths.max}"),
                 ("paid calls", self.calls_paid), ("cached calls", self.cache_hits),
                 ("tokens", self.tokens), ("seconds", round(self.seconds, 1)),
                 ("stopped", self.stopped)]
        return [{"metric": k, "value": v} for k, v in rows]

    def chart(self) -> dict:
        """A bar chart spec: label balance for classification, else input lengths."""
        if self.label_counts:
            return {"type": "bar", "title": f"Accepted examples by label (round {self.round})",
                    "x": list(self.label_counts), "y": list(self.label_counts.values())}
        return {"type": "bar", "title": f"Input length in words (round {self.round})",
                "x": self.lengths.bins, "y": self.lengths.counts}

    def markdown(self) -> str:
        """The table and warnings as Markdown (CLI, Slack, chat)."""
        lines = ["| metric | value |", "| --- | --- |"]
        lines += [f"| {r['metric']} | {r['value']} |" for r in self.rows()]
        lines += [f"\n> {w}" for w in self.warnings]
        return "\n".join(lines)


def _length_stats(examples: list[Example]) -> LengthStats:
    words = sorted(len(e.input.split()) for e in examples)
    if not words:
        return LengthStats()
    edges = [1, 4, 8, 16, 32, 64]
    bins = [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])] + [f"{edges[-1]}+"]
    counts = [0] * len(bins)
    for w in words:
        i = sum(1 for e in edges[1:] if w >= e)
        counts[i] += 1
    mid = len(words) // 2
    median = words[mid] if len(words) % 2 else (words[mid - 1] + words[mid]) / 2
    return LengthStats(min=words[0], median=median, max=words[-1], bins=bins, counts=counts)


def build_report(examples: list[Example], *, round_no: int, teacher: str, target: int,
                 requested: int, errors: int, labels: list[str], consistency: list[float],
                 spend, seconds: float, stopped: str, embedded: bool,
                 notes: list[str]) -> DataReport:
    """Count what the round produced (every example, accepted or not)."""
    accepted = [e for e in examples if e.accepted]
    reasons: Counter = Counter()
    for e in examples:
        if not e.accepted:
            first = next((f for f in FILTERS if e.verdicts.get(f, "pass") != "pass"), "other")
            reasons[first] += 1
    malformed = reasons.get("parse", 0)
    parsed = len(examples) - malformed
    label_counts = {lab: 0 for lab in labels}
    for e in accepted if labels else []:
        label_counts[e.output] = label_counts.get(e.output, 0) + 1
    warnings = list(notes)
    if embedded:
        warnings.append(WEAK_TEACHER_NOTE)
    rate = len(accepted) / requested if requested else 0.0
    if requested and rate < ACCEPT_WARN:
        why = [f"{k} {v}" for k, v in reasons.most_common(3)] + ([f"endpoint errors {errors}"]
                                                                  if errors else [])
        warnings.append(f"Only {rate:.0%} of teacher requests gave a usable example ("
                        + ", ".join(why) + "). A stronger teacher gives better data.")
    if malformed:
        warnings.append(f"{malformed} replies were not the JSON asked for (kept as rejected rows).")
    if labels and accepted and min(label_counts.values()) < max(label_counts.values()) / 2:
        warnings.append("Labels are unbalanced: " + ", ".join(f"{k} {v}" for k, v in label_counts.items()))
    return DataReport(
        round=round_no, teacher=teacher, target=target, requested=requested, generated=parsed,
        accepted=len(accepted), rejected=len(examples) - len(accepted),
        rejected_by_reason={f: reasons[f] for f in FILTERS if reasons.get(f)} | (
            {"other": reasons["other"]} if reasons.get("other") else {}),
        malformed=malformed, errors=errors,
        duplicate_rate=round(reasons.get("duplicate", 0) / parsed, 4) if parsed else 0.0,
        label_counts=label_counts, lengths=_length_stats(accepted),
        consistency_agreement=round(sum(consistency) / len(consistency), 4) if consistency else None,
        calls_paid=spend.calls, cache_hits=spend.cache_hits, tokens=spend.tokens,
        seconds=round(seconds, 2), stopped=stopped, warnings=warnings)
