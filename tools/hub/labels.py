"""The label set follows the data: when a fitting dataset holds the task's labels and more.

A description often names a few labels ("one of our 77 intents, for example
card_arrival, exchange_rate") while the user's file or a catalog dataset holds
them all. `label_offer` compares the two sets (names matched loosely: case,
'_' vs space, a plural 's') and says whether to adopt the data's full set:
when the data's set contains every label of the spec, or when the description
implies more labels than it names. `adopt` makes the new spec; the agent adopts
on autopilot and asks otherwise, showing rows per label.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.contracts import TaskSpec
from tools.spec_edit import label_key


class LabelOffer(BaseModel):
    """The data's label set, offered in place of the spec's."""

    dataset: str
    labels: list[str] = Field(description="the data's labels, most rows first (the data's spelling)")
    rows: dict[str, int]
    matched: dict[str, str] = Field(default_factory=dict, description="spec label -> data label")
    spec_only: list[str] = Field(default_factory=list, description="spec labels the data lacks")
    reason: str
    rows_left_out: int = Field(default=0, description="rows dropped if the spec's set is kept")

    def message(self, spec: TaskSpec) -> str:
        """The offer as a question, with rows per label."""
        shown = ", ".join(f"{lab} ({self.rows[lab]})" for lab in self.labels[:12])
        more = f", and {len(self.labels) - 12} more" if len(self.labels) > 12 else ""
        return (f"{self.dataset} has {len(self.labels)} labels ({self.reason}); your spec names "
                f"{len(spec.labels)}. Rows per label: {shown}{more}. Use all {len(self.labels)}? "
                f"With your {len(spec.labels)} only, {self.rows_left_out:,} rows are left out.")


def label_offer(spec: TaskSpec, dataset: str, data_rows: dict[str, int]) -> LabelOffer | None:
    """An offer to adopt the data's labels, or None when the spec's set already fits."""
    if spec.kind != "classification" or len(data_rows) < 2:
        return None
    by_key = {label_key(d): d for d in data_rows}
    matched = {s: by_key[label_key(s)] for s in spec.labels if label_key(s) in by_key}
    extra = [d for d in data_rows if d not in matched.values()]
    if not extra or (spec.labels and not matched):
        return None
    implied = spec.labels_exemplified or (spec.label_count or 0) > len(spec.labels)
    if not spec.labels:
        reason = "your description names no labels"
    elif len(matched) == len(spec.labels):
        reason = f"every label you named is among them, with {len(extra)} more"
    elif implied:
        reason = f"{len(matched)} of the labels you named are among them, and your description implies more"
    else:
        return None
    return LabelOffer(dataset=dataset, labels=list(data_rows), rows=dict(data_rows), matched=matched,
                      spec_only=[s for s in spec.labels if s not in matched], reason=reason,
                      rows_left_out=sum(data_rows[d] for d in extra))


def adopt(spec: TaskSpec, offer: LabelOffer) -> tuple[TaskSpec, list[str]]:
    """The spec with the data's labels (plus any the data lacks); returns (spec, notes)."""
    new = spec.model_copy(deep=True)
    new.labels = list(offer.labels) + [s for s in offer.spec_only if s not in offer.labels]
    new.labels_exemplified, new.version = False, spec.version + 1
    renamed = {s: d for s, d in offer.matched.items() if s != d}
    canon = {label_key(s): d for s, d in offer.matched.items()}
    for d in new.demonstrations:  # demonstrations follow the data's spelling
        d.output = canon.get(label_key(d.output), d.output)
    notes = [f"labels: the {len(offer.labels)} of {offer.dataset} ({offer.reason})"]
    if renamed:
        notes.append("spelled as in the data: " + ", ".join(f"{s} -> {d}" for s, d in renamed.items()))
    if spec.label_count and spec.label_count != len(new.labels):
        notes.append(f"the description says {spec.label_count} labels; the task now has "
                     f"{len(new.labels)}")
    return new, notes
