"""Fit a dataset to the task: pick split, map columns, map labels, make Examples.

    fit = fit_dataset(spec, candidate, client=llm)      # FitResult
    fit.rejected or fit.preview                          # reason, or 5 Examples to show
    rows = load_examples(spec, fit.candidate, cap=5000)  # all rows for training

The LLM (optional) proposes the input/output columns; the code checks them
against the real columns and sample rows and otherwise falls back to a
name heuristic. Labels are mapped in one place, `fit_labels`. Nothing here
raises on a bad dataset: it is rejected with why.
"""

from __future__ import annotations

import re
from collections import Counter

from pydantic import BaseModel, Field

from tools.contracts import Candidate, Example, TaskSpec
from tools.hub.content import Content, ContentUnavailable, load_content
from tools.hub.prompts import MappingAnswer, mapping_messages

INPUT_NAMES = ["text", "sentence", "question", "input", "content", "document", "query",
               "utterance", "review", "sms", "tweet", "premise", "source", "prompt", "intent"]
OUTPUT_NAMES = ["label", "labels", "output", "answer", "answers", "target", "category",
                "class", "coarse_label", "label_text", "intent", "summary", "response",
                "completion", "highlights"]
SPLIT_PREFERENCE = ["train", "validation", "test"]


class FitResult(BaseModel):
    """A dataset fitted to the task, or the reason it was rejected."""

    candidate: Candidate
    preview: list[Example] = Field(default_factory=list)
    rejected: str | None = None
    rows: int = 0
    label_map: dict[str, str] = Field(default_factory=dict, description="dataset label -> task label")
    data_labels: dict[str, int] = Field(default_factory=dict,
                                        description="classification: the dataset's labels and rows")
    notes: list[str] = Field(default_factory=list)


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(s).lower()).strip()


def _value(v, names: list[str] | None = None) -> str:
    """Cell -> text: ClassLabel ids to names, SQuAD-style answers to the first text."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int) and names and 0 <= v < len(names):
        return names[v]
    if isinstance(v, dict):
        for key in ("text", "answer", "label"):
            if key in v:
                return _value(v[key], names)
        return ""
    if isinstance(v, (list, tuple)):
        return _value(v[0], names) if v else ""
    return "" if v is None else str(v).strip()


def _is_texty(rows: list[dict], col: str) -> bool:
    vals = [r.get(col) for r in rows[:50]]
    # Text has letters: CSV ids and numbers read as strings are not an input.
    return sum(isinstance(v, str) and re.search(r"[^\W\d_]", v) is not None
               for v in vals) >= 0.8 * max(1, len(vals))


def heuristic_mapping(columns: list[str], rows: list[dict], kind: str) -> dict[str, str]:
    """Deterministic input/output choice from column names, then value shapes."""
    lower = {c.lower(): c for c in columns}
    mapping: dict[str, str] = {}
    if kind == "extraction" and "context" in lower and "question" in lower:
        mapping["input"] = f"{lower['context']},{lower['question']}"
    for name in INPUT_NAMES:
        if "input" not in mapping and name in lower and _is_texty(rows, lower[name]):
            mapping["input"] = lower[name]
    for name in OUTPUT_NAMES:
        if name in lower and lower[name] not in mapping.get("input", "").split(","):
            mapping["output"] = lower[name]
            break
    texty = [c for c in columns if _is_texty(rows, c)]
    if "input" not in mapping and texty:  # longest text column is the likeliest input
        mapping["input"] = max(texty, key=lambda c: sum(len(str(r.get(c))) for r in rows[:50]))
    if "output" not in mapping:
        rest = [c for c in columns if c not in mapping.get("input", "").split(",")]
        if rest and kind == "classification":  # fewest distinct values looks like a label
            mapping["output"] = min(rest, key=lambda c: len({str(r.get(c)) for r in rows[:500]}))
        elif rest:
            mapping["output"] = rest[0]
    return mapping


def valid_mapping(m: dict[str, str], columns: list[str], rows: list[dict]) -> str | None:
    """None when the mapping names real, distinct, mostly non-empty columns; else why not."""
    if not m.get("input") or not m.get("output"):
        return "no column looks like the task's " + ("input" if not m.get("input") else "output")
    cols = m["input"].split(",") + [m["output"]]
    missing = [c for c in cols if c not in columns]
    if missing:
        return f"column(s) {missing} not in dataset (has {columns})"
    if m["output"] in m["input"].split(","):
        return "input and output are the same column"
    filled = sum(all(_value(r.get(c)) for c in cols) for r in rows[:50])
    if filled < 0.5 * min(50, len(rows)):
        return f"columns {cols} are mostly empty in sample rows"
    return None


def _label_match(spec_label: str, ds_label: str, descriptions: dict[str, str]) -> bool:
    a, names = _norm(spec_label), [_norm(ds_label), _norm(descriptions.get(ds_label, ""))]
    for b in filter(None, names):
        if a == b or (min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a))):
            return True
    return False


def label_mapping(spec_labels: list[str], ds_labels: list[str],
                  descriptions: dict[str, str]) -> dict[str, str]:
    """dataset label -> spec label by exact, case-insensitive, prefix or description match."""
    out = {}
    for d in ds_labels:
        for s in spec_labels:
            if _label_match(s, d, descriptions):
                out[d] = s
                break
    return out


class LabelFit(BaseModel):
    """How a dataset's label column maps onto the task's labels, or why it can't."""

    label_map: dict[str, str] = Field(default_factory=dict, description="dataset label -> task label")
    data_labels: dict[str, int] = Field(default_factory=dict,
                                        description="the column's labels and their rows, most first")
    rejected: str | None = None
    notes: list[str] = Field(default_factory=list)


def dataset_labels(content: Content, column: str, rows: list[dict]) -> list[str]:
    """The distinct values of a label column in the first 5,000 rows, most common first."""
    names = content.label_names.get(column) or content.label_names.get("*")
    return [lab for lab, _ in Counter(_value(r.get(column), names) for r in rows[:5000]).most_common()]


def fit_labels(spec: TaskSpec, cand_id: str, content: Content, column: str,
               rows: list[dict]) -> LabelFit:
    """The one place that decides how a dataset's labels become the task's labels.

    `label_map` is filled even when the column is rejected (load_examples with
    no fit uses it as is); fit_dataset only keeps it for a fit that passed.
    """
    names = content.label_names.get(column) or content.label_names.get("*")
    counts = Counter(_value(r.get(column), names) for r in rows)
    counts.pop("", None)
    ds_labels = [lab for lab, _ in counts.most_common()]
    fit = LabelFit(label_map=label_mapping(spec.labels, ds_labels, content.label_descriptions)
                   if spec.labels else {}, data_labels=dict(counts.most_common()))
    if len(ds_labels) > max(50, 0.5 * min(len(rows), 5000)):
        fit.rejected = (f"{cand_id}: column '{column}' has {len(ds_labels)} distinct "
                        "values; it does not look like a label")
        return fit
    if not spec.labels:
        return fit
    if not fit.label_map:
        fit.rejected = (f"{cand_id}: labels don't overlap: dataset has "
                        f"{ds_labels[:12]}, task wants {spec.labels}")
        return fit
    missing = sorted(set(spec.labels) - set(fit.label_map.values()))
    if missing:
        fit.notes.append(f"no rows for task labels {missing}")
    return fit


def _pick_split(content: Content, wanted: str | None) -> str:
    if wanted and wanted in content.splits:
        return wanted
    return next((s for s in SPLIT_PREFERENCE if s in content.splits), next(iter(content.splits)))


def _row_io(row: dict, m: dict[str, str], names: dict[str, list[str]]) -> tuple[str, str]:
    cols = m["input"].split(",")
    if len(cols) == 1:
        inp = _value(row.get(cols[0]))
    else:
        inp = "\n".join(f"{c.capitalize()}: {_value(row.get(c))}" for c in cols)
    out_names = names.get(m["output"]) or names.get("*")
    return inp, _value(row.get(m["output"]), out_names)


def _propose(spec: TaskSpec, content: Content, rows: list[dict], client, notes) -> dict:
    if client is not None:
        try:
            ans = client.structured(mapping_messages(spec.instruction, spec.kind, spec.labels,
                                                     content.columns, rows[:3]),
                                    MappingAnswer, purpose="column_mapping")
            m = {"input": ans.input.strip(), "output": ans.output.strip()}
            why = valid_mapping(m, content.columns, rows)
            if why is None:
                return m
            notes.append(f"LLM column mapping rejected ({why}); used the name heuristic")
        except Exception as e:  # a failed LLM call falls back, never stops the fit
            notes.append(f"LLM column mapping failed ({type(e).__name__}); used the name heuristic")
    return heuristic_mapping(content.columns, rows, spec.kind)


def fit_dataset(spec: TaskSpec, candidate: Candidate, client=None, settings=None,
                content: Content | None = None, split: str | None = None) -> FitResult:
    """Map a candidate dataset onto the task; rejected (with the reason) when it can't fit."""
    cand = candidate.model_copy()
    res = FitResult(candidate=cand)
    if content is None:
        if not cand.reachable:
            res.rejected = f"{cand.id}: content not reachable now (offline or Hub-only)"
            return res
        try:
            content = load_content(cand.location or cand.id, cand.config, settings)
        except ContentUnavailable as e:
            res.rejected = str(e)
            return res
    res.notes += content.notes
    cand.config, cand.split = content.config, _pick_split(content, split or cand.split)
    rows = content.splits[cand.split]
    if not rows:
        res.rejected = f"{cand.id}: split {cand.split} is empty"
        return res
    m = _propose(spec, content, rows, client, res.notes)
    why = valid_mapping(m, content.columns, rows)
    if why:
        res.rejected = f"{cand.id}: columns don't fit the task: {why}"
        return res
    cand.column_mapping = m
    if spec.kind == "classification":
        labels = fit_labels(spec, cand.id, content, m["output"], rows)
        res.notes += labels.notes
        if labels.rejected:
            res.rejected = labels.rejected
            return res
        res.label_map, res.data_labels = labels.label_map, labels.data_labels
    examples = _examples(spec, cand, content, res.label_map, cap=None)
    res.rows = len(examples)
    if not examples:
        res.rejected = f"{cand.id}: no row survived the mapping"
        return res
    cand.size = cand.size or f"{res.rows:,} rows"
    res.preview = examples[:5]
    return res


def _examples(spec: TaskSpec, cand: Candidate, content: Content, label_map: dict[str, str],
              cap: int | None, splits: list[str] | None = None,
              dropped: Counter | None = None) -> list[Example]:
    m, names = cand.column_mapping, content.label_names
    out: list[Example] = []
    prefix = "user" if cand.id.startswith("user:") else f"retrieved:{cand.id}@{cand.config or 'default'}"
    for split in splits or [cand.split]:
        for i, row in enumerate(content.splits.get(split, [])):
            inp, outp = _row_io(row, m, names)
            if spec.kind == "classification" and spec.labels:
                if outp and outp not in label_map and dropped is not None:
                    dropped[outp] += 1  # said in the data report, never dropped silently
                outp = label_map.get(outp)
            if not inp or not outp:
                continue
            ex_split = split if split in ("train", "validation", "test") else "train"
            src = prefix if prefix == "user" else f"{prefix}/{split}/{i}"
            out.append(Example(input=inp, output=outp, split=ex_split, source=src))
            if cap and len(out) >= cap:
                return out
    return out


def load_examples(spec: TaskSpec, candidate: Candidate, settings=None, cap: int = 5000,
                  splits: list[str] | None = None, label_map: dict[str, str] | None = None,
                  content: Content | None = None, dropped: Counter | None = None) -> list[Example]:
    """All mapped rows (up to `cap`) of a fitted candidate; [] when it can't be loaded.

    `dropped` counts, by dataset label, the rows left out because their label is not
    one of the task's.
    """
    if not candidate.column_mapping:
        raise ValueError(f"{candidate.id}: fit it first (no column mapping)")
    try:
        content = content or load_content(candidate.location or candidate.id, candidate.config,
                                          settings)
    except ContentUnavailable:
        return []
    if spec.kind == "classification" and spec.labels and label_map is None:
        rows = content.splits.get(candidate.split or "train", [])
        label_map = fit_labels(spec, candidate.id, content, candidate.column_mapping["output"],
                               rows).label_map
    return _examples(spec, candidate, content, label_map or {}, cap, splits, dropped)


def user_file_candidate(path: str) -> Candidate:
    """The user's own labeled file (CSV/JSONL/parquet) as a reachable candidate."""
    from pathlib import Path

    p = Path(path).expanduser()
    return Candidate(kind="dataset", id=f"user:{p.name}", why="your file", reachable=p.exists(),
                     location=str(p))
