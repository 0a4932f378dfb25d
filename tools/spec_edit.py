"""Changing a TaskSpec: one owner for every edit, from the rigid `labels: a, b` to plain language.

A `SpecChange` says what to change (set, add or drop labels; target; language;
instruction; kind; formats; data files; budget; examples). It comes from
`rigid_change` (the `key: value` forms), from the LLM's reading of a reply
(checked against the reply's own words by `grounded`), or from code that knows
the answer (a label list typed after "which labels?"). `apply_change` makes the
new spec with its version bumped and returns the diff the user is shown;
`check_spec` refuses values that make no sense for the task, with a reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from tools.contracts import DEFAULT_METRIC, Demonstration, TaskSpec
from tools.spec_parse import find_demonstrations, split_labels

LANGUAGES = {"english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
             "portuguese": "pt", "dutch": "nl", "japanese": "ja", "chinese": "zh", "korean": "ko",
             "russian": "ru", "arabic": "ar", "hindi": "hi", "turkish": "tr", "polish": "pl",
             "swedish": "sv", "danish": "da", "finnish": "fi", "norwegian": "no", "czech": "cs",
             "greek": "el", "hebrew": "he", "indonesian": "id", "vietnamese": "vi", "thai": "th",
             "ukrainian": "uk", "romanian": "ro", "hungarian": "hu", "deutsch": "de",
             "français": "fr", "español": "es"}
METRICS_BY_KIND = {"classification": {"accuracy", "macro_f1"},
                   "extraction": {"exact_match", "token_f1"},
                   "generation": {"chrf", "exact_match", "numeric_match"}}


class SpecChange(BaseModel):
    """What to change in a spec; empty fields change nothing."""

    labels: list[str] | None = Field(default=None, description="replace the label set")
    add_labels: list[str] = Field(default_factory=list)
    drop_labels: list[str] = Field(default_factory=list)
    target: float | None = None
    language: str | None = None
    instruction: str | None = None
    kind: str | None = None
    input_format: str | None = None
    output_format: str | None = None
    metric: str | None = None
    data_files: list[str] = Field(default_factory=list)
    demonstrations: list[Demonstration] = Field(default_factory=list)
    budget: dict = Field(default_factory=dict)

    def empty(self) -> bool:
        return self == SpecChange()


def label_key(label: str) -> str:
    """Loose identity of a label: case, '_'/'-' vs space and a plural 's' ignored."""
    k = re.sub(r"[\s_\-]+", " ", str(label).strip().lower())
    return k[:-1] if len(k) > 3 and k.endswith("s") and not k.endswith("ss") else k


def _number(text: str) -> float | None:
    m = re.search(r"(\d+(?:\.\d+)?)\s*(%|percent)?", text)
    if not m:
        return None
    val = float(m[1])
    return val / 100 if m[2] or val > 1 else val


def rigid_change(text: str) -> SpecChange | None:
    """The `key: value` forms (labels:, target:, instruction:, budget:, language:), or None.

    Only a key followed by ':' or '=' counts, so "labels look good, go" is no edit.
    """
    t = text.strip()
    change = SpecChange()
    if m := re.match(r"(?i)^labels?\s*[:=]\s*(.+)$", t, re.S):
        change.labels = split_labels(m[1])
    elif m := re.match(r"(?i)^target\s*[:=]\s*(.+)$", t):
        change.target = _number(m[1])
    elif m := re.match(r"(?i)^instruction\s*[:=]\s*(.+)$", t, re.S):
        change.instruction = m[1].strip()
    elif m := re.match(r"(?i)^language\s*[:=]\s*(\w+)", t):
        change.language = LANGUAGES.get(m[1].lower(), m[1].lower()[:5])
    elif m := re.match(r"(?i)^budget\s*[:=]\s*(\d+)\s*(calls?|minutes?|rounds?|tokens?)", t):
        field = {"call": "max_llm_calls", "minu": "max_minutes", "roun": "max_rounds",
                 "toke": "max_tokens"}[m[2][:4].lower()]
        change.budget = {field: float(m[1]) if field == "max_minutes" else int(m[1])}
    else:
        return None
    return None if change.empty() else change


def grounded(change: SpecChange, reply: str, spec: TaskSpec) -> tuple[SpecChange, list[str]]:
    """Keep only what the reply's own words support; returns (change, what was ignored).

    A small model reading "aim for 90%" may also invent labels; a label must
    appear in the reply, a dropped label must be one of the spec's, a target must
    be a number the reply states, a language must be named, a file must exist.
    """
    low, ignored = reply.lower(), []
    out = change.model_copy(deep=True)

    def said(x: str) -> bool:
        return bool(x) and (x.lower() in low or label_key(x) in label_key(reply))
    if out.labels is not None:
        kept = [l for l in out.labels if said(l)]
        ignored += [f"label {l!r} (not in your reply)" for l in out.labels if not said(l)]
        out.labels = kept if len(kept) >= 2 else None
    for name in ("add_labels",):
        vals = getattr(out, name)
        setattr(out, name, [l for l in vals if said(l)])
        ignored += [f"label {l!r} (not in your reply)" for l in vals if not said(l)]
    have = {label_key(l): l for l in spec.labels}
    out.drop_labels = [have[label_key(l)] for l in out.drop_labels if label_key(l) in have]
    if out.target is not None:
        stated = _number(reply)  # "aim for 90%" -> 0.9, whatever scale the model used
        if stated is None:
            ignored.append(f"target {out.target:g} (no number in your reply)")
        out.target = stated
    if out.language is not None:
        names = [n for n, code in LANGUAGES.items() if code == out.language.lower()[:2]]
        if not any(n in low for n in names) and out.language.lower() not in low:
            ignored.append(f"language {out.language!r} (not named in your reply)")
            out.language = None
    missing = [f for f in out.data_files if not Path(f).expanduser().is_file()]
    out.data_files = [str(Path(f).expanduser()) for f in out.data_files if f not in missing]
    ignored += [f"file {f!r} (not found)" for f in missing]
    if out.instruction is not None and len(out.instruction) < 8:
        out.instruction = None
    return out, ignored


def apply_change(spec: TaskSpec, change: SpecChange) -> tuple[TaskSpec, list[str]]:
    """The spec with `change` applied (version bumped when anything changed) and its diff lines."""
    new = spec.model_copy(deep=True)
    if change.labels is not None:
        new.labels = list(dict.fromkeys(change.labels))
    if change.add_labels:
        keys = {label_key(l) for l in new.labels}
        new.labels += [l for l in change.add_labels if label_key(l) not in keys]
    if change.drop_labels:
        drop = {label_key(l) for l in change.drop_labels}
        new.labels = [l for l in new.labels if label_key(l) not in drop]
    if change.labels is not None or change.add_labels:
        new.kind, new.labels_exemplified = "classification", False
    if change.kind:
        new.kind = change.kind
    for field in ("instruction", "input_format", "output_format", "target"):
        if getattr(change, field) is not None:
            setattr(new, field, getattr(change, field))
    if change.language:
        new.constraints.language = change.language
    if change.demonstrations:
        new.demonstrations += change.demonstrations
    if change.budget:
        new.budget = new.budget.model_copy(update=change.budget)
    if change.metric and change.metric in METRICS_BY_KIND.get(new.kind, set()):
        new.metric = change.metric
    if new.kind != spec.kind:  # the metric follows the kind unless the change set it
        new.metric = change.metric if change.metric in METRICS_BY_KIND[new.kind] else DEFAULT_METRIC[new.kind]
        if new.kind != "classification":
            new.labels = []
    if new.kind == "classification" and (new.kind != spec.kind or new.labels != spec.labels):
        # a label set means one label out: "json" formats from a misreading go
        new.input_format = change.input_format or (spec.input_format if _texty(spec.input_format) else "text")
        new.output_format = change.output_format or "one label"
    diff = spec_diff(spec, new)
    if diff:
        new.version = spec.version + 1
    return new, diff


def _texty(fmt: str) -> bool:
    return bool(fmt) and "json" not in fmt.lower()


def spec_diff(old: TaskSpec, new: TaskSpec) -> list[str]:
    """Human-readable lines for what changed between two specs."""
    def show(v):
        if isinstance(v, list):
            return ", ".join(map(str, v)) if v else "(none)"
        return "(none)" if v in (None, "") else str(v)
    lines = []
    for field in ("kind", "labels", "instruction", "input_format", "output_format", "metric", "target"):
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            lines.append(f"{field}: {show(a)} -> {show(b)}")
    if old.constraints.language != new.constraints.language:
        lines.append(f"language: {old.constraints.language} -> {new.constraints.language}")
    if len(new.demonstrations) != len(old.demonstrations):
        lines.append(f"examples: {len(old.demonstrations)} -> {len(new.demonstrations)}")
    for k, v in new.budget.model_dump().items():
        if getattr(old.budget, k) != v:
            lines.append(f"budget {k}: {getattr(old.budget, k):g} -> {v:g}")
    return lines


def check_spec(spec: TaskSpec, text: str) -> tuple[TaskSpec, list[str]]:
    """Refuse values that make no sense for the task; returns (fixed spec, reasons).

    JSON formats for a task whose description never mentions JSON, and a metric
    that doesn't fit the task kind, are replaced by the kind's defaults.
    """
    fixed, notes = spec.model_copy(deep=True), []
    mentions_json = "json" in text.lower()
    for field, default in (("input_format", "text"),
                           ("output_format", "one label" if spec.kind == "classification" else "text")):
        val = getattr(fixed, field) or ""
        if "json" in val.lower() and not mentions_json:
            setattr(fixed, field, default)
            notes.append(f"{field} {val!r} refused: the description never mentions JSON; using {default!r}")
    if fixed.metric not in METRICS_BY_KIND[fixed.kind]:
        notes.append(f"metric {fixed.metric!r} does not fit a {fixed.kind} task; using "
                     f"{DEFAULT_METRIC[fixed.kind]!r}")
        fixed.metric = DEFAULT_METRIC[fixed.kind]
    if fixed.kind != "classification" and fixed.labels:
        notes.append("labels dropped: only a classification task has labels")
        fixed.labels = []
    return fixed, notes


def reply_labels(reply: str) -> list[str]:
    """Labels typed as an answer: "the teams are billing, tech support and sales" ->
    ["billing", "tech support", "sales"]; a lead-in ("they are", "labels:") is dropped."""
    body = re.sub(r"(?i)^\s*(?:the\s+)?(?:\w+\s+){0,3}?(?:are|is|would be|should be|will be)\b\s*:?\s*"
                  r"|^\s*[\w ]{0,30}:\s*", "", reply.strip())
    labels = split_labels(body.rstrip(". "))
    return labels if len(labels) >= 2 else []


def demonstrations_in(reply: str) -> list[Demonstration]:
    """Examples typed in a reply ('input' -> output)."""
    return find_demonstrations(reply)


_DROP = re.compile(r"(?i)\b(?:drop|remove|delete|no more|get rid of|without)\s+(?:the\s+)?(?:labels?\s+|"
                   r"categor(?:y|ies)\s+|teams?\s+)?(.+?)\s*$")
_ADD = re.compile(r"(?i)^\s*(?:please\s+)?(?:also\s+)?add\s+(?:a\s+|the\s+)?(?:labels?\s+|categor(?:y|ies)\s+|"
                  r"teams?\s+)?(.+?)\s*$")
_AIM = re.compile(r"(?i)\b(?:aim (?:for|at)|target(?: of| is)?|at least|reach|get to|needs? to be|"
                  r"should be)\s+(?:an?\s+)?(?:accuracy\s+of\s+)?(\d+(?:\.\d+)?)\s*(%|percent)?")
_LANG = re.compile(r"(?i)\b(?:it'?s|it is|they'?re|they are|all|texts? (?:are|is)|inputs? (?:are|is)|"
                   r"written|emails? (?:are|is)|messages? (?:are|is))\s+(?:all\s+|mostly\s+)?in\s+(\w+)|"
                   r"^\s*in\s+(\w+)\s*\.?\s*$")
_FILE = re.compile(r"(?i)(?:\buse\s+(?:my\s+|the\s+)?(?:file|data|dataset)\s+|\bfrom\s+|\bin\s+)?"
                   r"((?:[~./\w-]+/)?[\w.-]+\.(?:csv|tsv|jsonl|json|parquet|txt))\b")


def phrase_change(reply: str, spec: TaskSpec) -> SpecChange:
    """Plain-language edits read without a model: "drop sales", "add refunds", "aim for 90%",
    "it's in German", "use my file tickets.csv" (the file must exist)."""
    change = SpecChange()
    if (m := _DROP.search(reply)) and spec.labels:
        have = {label_key(l): l for l in spec.labels}
        change.drop_labels = [have[label_key(x)] for x in split_labels(m[1]) if label_key(x) in have]
    if m := _ADD.match(reply):
        change.add_labels = [x for x in split_labels(m[1]) if label_key(x) not in
                             {label_key(l) for l in spec.labels}]
    if m := _AIM.search(reply):
        change.target = _number(m[1] + (m[2] or ""))
    if m := _LANG.search(reply):
        name = (m[1] or m[2] or "").lower()
        if name in LANGUAGES:
            change.language = LANGUAGES[name]
    for path in _FILE.findall(reply):
        p = Path(path).expanduser()
        if p.is_file():
            change.data_files.append(str(p.resolve()))
    return change


def merge_changes(a: SpecChange, b: SpecChange) -> SpecChange:
    """`a` with the fields `b` sets (lists concatenated)."""
    out = a.model_copy(deep=True)
    for name, value in b:
        if isinstance(value, list) and name != "labels":
            setattr(out, name, getattr(out, name) + [v for v in value if v not in getattr(out, name)])
        elif isinstance(value, dict):
            out.budget = {**out.budget, **value}
        elif value is not None:
            setattr(out, name, value)
    return out


def missing_files(reply: str) -> list[str]:
    """File names a reply mentions that do not exist (said back to the user)."""
    return [p for p in _FILE.findall(reply) if not Path(p).expanduser().is_file()]
