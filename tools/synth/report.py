"""The data-quality report of one round: numbers, a table for the UIs, a small chart."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field, computed_field

from tools.contracts import Example
from tools.llm.factory import WEAK_TEACHER_NOTE, weak_teacher
from tools.synth.diversity import distinct_n, embedding_spread
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
    items_requested: int = Field(default=0, description="examples asked for over all requests")
    generated: int = Field(description="items that parsed into a usable example")
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int] = Field(default_factory=dict,
                                               description="first failing filter -> count")
    malformed: int = Field(default=0, description="items that were not the JSON asked for")
    errors: int = Field(default=0, description="requests the endpoint failed (no reply)")
    duplicate_rate: float = Field(default=0.0, description="duplicates / parsed items")
    label_counts: dict[str, int] = Field(default_factory=dict, description="accepted, by label")
    lengths: LengthStats = Field(default_factory=LengthStats)
    consistency_agreement: float | None = Field(
        default=None, description="share of teacher re-answers agreeing with the generated output")
    distinct_1: float = Field(default=0.0, description="unique words / words, accepted inputs")
    distinct_2: float = Field(default=0.0, description="unique bigrams / bigrams, accepted inputs")
    embedding_spread: float | None = Field(default=None, description="mean cosine distance to "
                                           "the centroid of accepted inputs (MiniLM)")
    subjects: int = Field(default=0, description="subjects in the attribute grid")
    subjects_retired: list[str] = Field(default_factory=list,
                                        description="subjects dropped because the teacher repeated itself")
    attributes: list[dict] = Field(default_factory=list, description="the attribute grids used")
    calls_paid: int = 0
    cache_hits: int = 0
    tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    stopped: str = Field(default="target reached", description="why the round ended")
    warnings: list[str] = Field(default_factory=list)

    @computed_field
    @property
    def accepted_per_minute(self) -> float:
        """Accepted examples per minute of wall time."""
        return round(self.accepted * 60 / self.seconds, 2) if self.seconds else 0.0

    @computed_field
    @property
    def decode_tps(self) -> float:
        """Paid output tokens per second of wall time, over all requests in flight."""
        return round(self.completion_tokens / self.seconds, 2) if self.seconds else 0.0

    @computed_field
    @property
    def acceptance_rate(self) -> float:
        """Accepted examples per requested item."""
        return self.accepted / self.items_requested if self.items_requested else 0.0

    def rows(self) -> list[dict]:
        """Table rows {"metric", "value"} for a UI or a chat message."""
        rows = [("teacher", self.teacher), ("target", self.target), ("requests", self.requested),
                ("items asked", self.items_requested), ("parsed items", self.generated),
                ("accepted", self.accepted),
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
                 ("distinct words / bigrams", f"{self.distinct_1:.2f} / {self.distinct_2:.2f}"),
                 ("embedding spread", "-" if self.embedding_spread is None else f"{self.embedding_spread:.3f}"),
                 ("subjects (retired)", f"{self.subjects} ({len(self.subjects_retired)})"),
                 ("paid calls", self.calls_paid), ("cached calls", self.cache_hits),
                 ("tokens", self.tokens), ("seconds", round(self.seconds, 1)),
                 ("accepted per minute", self.accepted_per_minute),
                 ("output tokens/s", self.decode_tps), ("stopped", self.stopped)]
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


def build_report(st, *, requested: int, stopped: str, seconds: float) -> DataReport:
    """Count what the round produced (every example, accepted or not), from its RoundState."""
    examples, labels = st.examples, list(st.spec.labels)
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
    warnings = list(st.notes)
    embedded = bool(getattr(st.client, "embedded_hint", False))
    if embedded and weak_teacher(st.client):
        warnings.append(WEAK_TEACHER_NOTE)
    rate = len(accepted) / st.items_asked if st.items_asked else 0.0
    if st.items_asked and rate < ACCEPT_WARN:
        why = [f"{k} {v}" for k, v in reasons.most_common(3)] + ([f"endpoint errors {st.errors}"]
                                                                  if st.errors else [])
        warnings.append(f"Only {rate:.0%} of the examples asked of the teacher were usable ("
                        + ", ".join(why) + "). A stronger teacher gives better data.")
    if st.errors and st.errors == requested:
        warnings.append(f"Every request to the teacher failed: {st.last_error}")
    if malformed:
        warnings.append(f"{malformed} items were not the JSON asked for (kept as rejected rows).")
    if labels and accepted and min(label_counts.values()) < max(label_counts.values()) / 2:
        warnings.append("Labels are unbalanced: " + ", ".join(f"{k} {v}" for k, v in label_counts.items()))
    texts = [e.input for e in accepted]
    vecs = st.seen.embed(texts[:2000]) if texts else None
    grid = st.grid
    return DataReport(
        round=st.round, teacher=st._teacher(), target=st.n, requested=requested,
        items_requested=st.items_asked, generated=parsed,
        accepted=len(accepted), rejected=len(examples) - len(accepted),
        rejected_by_reason={f: reasons[f] for f in FILTERS if reasons.get(f)} | (
            {"other": reasons["other"]} if reasons.get("other") else {}),
        malformed=malformed, errors=st.errors,
        duplicate_rate=round(reasons.get("duplicate", 0) / parsed, 4) if parsed else 0.0,
        label_counts=label_counts, lengths=_length_stats(accepted),
        consistency_agreement=round(sum(st.agreement) / len(st.agreement), 4) if st.agreement else None,
        distinct_1=distinct_n(texts, 1), distinct_2=distinct_n(texts, 2),
        embedding_spread=embedding_spread(vecs),
        subjects=sum(len(v) for v in grid.topics.values()) if grid else 0,
        subjects_retired=sorted(st.retired), attributes=st.grids,
        calls_paid=st.spend.calls, cache_hits=st.spend.cache_hits, tokens=st.spend.tokens,
        completion_tokens=st.spend.completion_tokens, seconds=round(seconds, 2), stopped=stopped,
        warnings=warnings)
