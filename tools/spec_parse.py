"""Parse a task description into a draft TaskSpec, without an LLM.

The agent's intake asks the LLM for a parse too, but small models get labels
and demonstrations wrong (FACTS.md), so what can be read off the text is read
off the text: demonstrations written as `'input' -> output`, label lists such
as "as billing, technical or other", and the task kind from its verbs. The LLM's
proposal is then checked against this (see `merge_parse`).
"""

from __future__ import annotations

import re

from tools.contracts import Demonstration, TaskSpec

# 'input' -> output ; "input" => output ; input -> output (one per line/clause)
_QUOTED_DEMO = re.compile(
    r"""(?P<q>['"“‘])(?P<inp>.+?)(?:['"”’])\s*(?:->|=>|→|:)\s*(?P<out>['"“‘]?[^;\n]+?['"”’]?)\s*(?=;|\n|$|\.\s|,\s*['"“‘])""")
_IO_DEMO = re.compile(r"(?im)^\s*input\s*:\s*(?P<inp>.+?)\s*\n\s*output\s*:\s*(?P<out>.+?)\s*$")
_LINE_DEMO = re.compile(r"(?m)^\s*[-*]?\s*(?P<inp>[^\n]{3,}?)\s*(?:->|=>|→)\s*(?P<out>[^\n]+?)\s*$")

_LABEL_LIST = re.compile(
    r"(?i)(?:\b(?:as|into|labels?(?:\s+are)?\s*:?|categories\s*:?|classes\s*:?|one of\s*:?)|:)\s+"
    r"(?P<list>[^.;:\n]*?\b(?:or|and)\b\s+[^.;:\n,]+?)(?=[.;:\n]|$)")

# "one of these intents: a, b, c", "labels: a, b, c", "for example a, b, c": a list after a
# cue, commas only (no "or"/"and" needed).
_CUE_LIST = re.compile(
    r"(?i)(?:\bone of (?:these|the following|our|the)?\s*(?:[\w-]+\s+){0,3}?[\w-]*\s*[:：]|"
    r"\b(?:labels?|categories|classes|intents?|teams?|tags?|topics?|departments?|options)"
    r"(?:\s+are|\s*[:：])|"
    r"\b(?:for example|for instance|such as|e\.g\.,?|including|like)\s)"
    r"\s*(?P<list>[^.;:\n]+)")
# "... or other and also explain why": a second instruction after the list is not a label
_AFTER_LIST = re.compile(
    r"(?i),?\s+(?:and\s+)?(?:also|then)\s+\w.*$|,?\s+and\s+(?:explain|give|provide|return|write|"
    r"add|say|tell|include|output|describe|justify|rate|score|summari[sz]e|translate)\b.*$")
_COLON_LIST = re.compile(r"[:：]\s*(?P<list>[^.;:\n]+,[^.;:\n]+)")
_EXEMPLIFIED = re.compile(r"(?i)\b(for example|for instance|such as|e\.g\.|including|among others)\b|"
                          r"(?:,|\s)\s*(?:…|\.\.\.|etc\.?|and so on|and more)\s*(?=[.;:\n)]|$)")
_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_COUNT = re.compile(r"(?i)\b(\d{1,4}|" + "|".join(_NUMBERS) + r")\s+(?:different\s+|possible\s+|distinct\s+)?"
                    r"(?:[\w-]+\s+)?(?:intents?|labels?|categories|classes|teams|topics|types|kinds|"
                    r"tags|departments|names|buckets)\b")

_STRONG_CLASSIFY = re.compile(r"(?i)\b(classif\w*|categori[sz]\w*|sentiment|sort|rout|triag|dispatch)")
_CLASSIFY = re.compile(r"(?i)\b(classif\w*|categori[sz]\w*|label\w*|detect\w*|sentiment|"
                       r"is it (spam|toxic)|tag\w*|intent)\b|\b(sort|rout|triag|dispatch|assign|"
                       r"forward)\w*\b.{0,60}\b(team|department|queue|category|categories|group|"
                       r"person|folder|bucket)s?\b")
_EXTRACT = re.compile(r"(?i)\b(extract\w*|span|answer (the )?questions? (about|from|given)|"
                      r"passage|context|named entit\w*|find the)\b")


def _clean(s: str) -> str:
    return s.strip().strip("'\"“”‘’ ").rstrip(".").strip()


def find_demonstrations(text: str) -> list[Demonstration]:
    """Input -> output examples written in the description, in order, deduplicated."""
    found: list[tuple[str, str]] = []
    for m in _IO_DEMO.finditer(text):
        found.append((m["inp"], m["out"]))
    for m in _QUOTED_DEMO.finditer(text):
        found.append((m["inp"], m["out"]))
    if not found:
        found = [(m["inp"], m["out"]) for m in _LINE_DEMO.finditer(text)]
    seen, demos = set(), []
    for inp, out in found:
        inp, out = _clean(inp), _clean(out)
        if inp and out and (inp, out) not in seen:
            seen.add((inp, out))
            demos.append(Demonstration(input=inp, output=out))
    return demos


def split_labels(text: str) -> list[str]:
    """One label parser for every list the user writes: "a, b or c", "a/b", "a; b", bullets.

    "ABBR (abbreviation)" gives "ABBR"; trailing "etc." or "…" is dropped; items of
    more than four words are not labels; duplicates (case-insensitive) are dropped.
    """
    text = re.sub(r"(?i)(?:,|\s)\s*(?:…|\.\.\.|etc\.?|and so on|and more)\s*$", "", text.strip())
    # "our 12 intents, for example a, b and c": what comes before the cue names the set
    text = re.sub(r"(?i)^[^,]*?,?\s*\b(?:for example|for instance|such as|e\.g\.,?|including)\s+", "", text)
    parts = re.split(r"\s*,\s*|\s*;\s*|\s+or\s+|\s+and\s+|\s*/\s*|\n\s*[-*•]?\s*", text)
    labels: list[str] = []
    for p in parts:
        p = re.sub(r"\s*\(.*?\)\s*", "", p)  # "ABBR (abbreviation)" -> "ABBR"
        p = re.sub(r"(?i)^.*\b(?:for example|for instance|such as|e\.g\.,?|including|like)\s+", "", p)
        p = _clean(re.sub(r"^(?:the|a|an)\s+", "", p.strip(), flags=re.I) if len(p.split()) > 1 else p)
        if p and len(p.split()) <= 4 and p.lower() not in {l.lower() for l in labels}:
            labels.append(p)
    return labels


def _listed(m: re.Match) -> list[str]:
    return split_labels(_AFTER_LIST.sub("", m["list"]))


def find_labels(text: str) -> list[str]:
    """Labels named in a list like "as billing, technical or other" or "intents: a, b, c"."""
    m = _LABEL_LIST.search(text)
    if m:
        labels = _listed(m)
        if len(labels) >= 2:
            return labels
    m = _CUE_LIST.search(text)
    if m:
        labels = _listed(m)
        if len(labels) >= 2:
            return labels
    m = _COLON_LIST.search(text)  # "Label the reviews: positive, negative, neutral"
    if m and _CLASSIFY.search(text[:m.start()] or ""):
        labels = _listed(m)
        if len(labels) >= 3 and all(len(x.split()) <= 3 for x in labels):
            return labels
    return []


def label_hints(text: str) -> tuple[bool, int | None]:
    """(the named labels are only examples, the number of labels the text states)."""
    m = _COUNT.search(text)
    count = None
    if m:
        word = m.group(1).lower()
        count = int(word) if word.isdigit() else _NUMBERS[word]
    return bool(_EXEMPLIFIED.search(text)), (count if count and count >= 2 else None)


def guess_kind(text: str, labels: list[str]) -> str:
    """classification / extraction / generation from labels and verbs."""
    if labels or _CLASSIFY.search(text):
        return "classification"
    if _EXTRACT.search(text):
        return "extraction"
    return "generation"


def instruction_of(text: str) -> str:
    """The description without its examples: the first sentences before 'Example'."""
    head = re.split(r"(?i)\bexamples?\s*:|\n\s*input\s*:", text, maxsplit=1)[0]
    head = _QUOTED_DEMO.sub("", head)
    head = _LINE_DEMO.sub("", head)
    head = re.sub(r"\s+", " ", head).strip(" ;,")
    return head[:500] or text.strip()[:500]


def parse_description(text: str) -> TaskSpec:
    """A draft TaskSpec read off the text (no LLM). Raises ValueError when empty."""
    if not text or not text.strip():
        raise ValueError("The task description is empty. Describe the task in a sentence or "
                         "two, ideally with a few examples like 'input' -> output.")
    demos = find_demonstrations(text)
    # Labels and verbs are read from the instruction only: a demonstration's text (a SQuAD
    # context, a tweet) says "tagged", "as X or Y" without being about the task.
    head = instruction_of(text)
    labels = find_labels(head)
    exemplified, count = label_hints(head)
    kind = guess_kind(head, labels)
    if kind == "classification":
        # Demo outputs are labels too; keep the listed order, add unseen ones.
        for d in demos:
            if d.output.lower() not in {l.lower() for l in labels} and len(d.output.split()) <= 3:
                labels.append(d.output)
        canon = {l.lower(): l for l in labels}
        demos = [Demonstration(input=d.input, output=canon.get(d.output.lower(), d.output))
                 for d in demos]
    return TaskSpec(instruction=instruction_of(text), kind=kind, labels=labels,
                    demonstrations=demos, labels_exemplified=exemplified and kind == "classification",
                    label_count=count if kind == "classification" else None,
                    output_format="one label" if kind == "classification" else "text")


def merge_parse(draft: TaskSpec, proposal: dict, text: str) -> tuple[TaskSpec, list[str]]:
    """Combine the LLM's proposal with the text-read draft; returns (spec, notes).

    The draft wins where the text is explicit (labels listed, demonstrations
    written out); the LLM fills what the text leaves open. A proposed label
    that appears nowhere in the description is dropped, with a note.
    """
    notes: list[str] = []
    spec = draft.model_copy(deep=True)
    lowered = text.lower()
    kind = proposal.get("kind")
    if kind in ("classification", "extraction", "generation") and kind != spec.kind:
        # A task the text plainly calls a classification ("classify", "route to the right
        # team") stays one; the model decides where the text only guessed.
        strong = draft.kind == "classification" and _STRONG_CLASSIFY.search(instruction_of(text))
        named = [l for l in proposal.get("labels") or [] if l and l.lower() in lowered]
        if kind == "classification" and draft.kind == "extraction" and not named:
            # "copy the answer span from the context" with no label anywhere: a model's
            # "classification" would leave nothing to train (seen with SmolLM2 on SQuAD)
            notes.append("kept kind extraction from the text (the model proposed classification "
                         "but no labels)")
        elif not draft.labels and not strong:
            notes.append(f"task kind from the model: {kind} (text suggested {spec.kind})")
            spec.kind = kind
        elif strong:
            notes.append(f"kept kind classification from the text (the model proposed {kind})")
    if spec.kind == "classification" and not spec.labels:
        kept = [l for l in proposal.get("labels") or [] if l and l.lower() in lowered]
        dropped = [l for l in proposal.get("labels") or [] if l and l.lower() not in lowered]
        spec.labels = list(dict.fromkeys(kept))
        if dropped:
            notes.append(f"ignored labels the description never mentions: {dropped}")
    for field in ("input_format", "output_format"):
        val = (proposal.get(field) or "").strip()
        if "_format" in val or val.lower() in ("text", "string", "input", "output", "none"):
            val = ""  # small models echo the field name back
        if val and spec.__dict__[field] in ("text", "one label"):
            spec.__dict__[field] = val[:200]
    if spec.kind != "classification":
        spec.labels = []
    spec.metric = ""
    spec.model_post_init(None)
    return spec, notes


def spans_or_text(spec: TaskSpec) -> tuple[TaskSpec, list[str]]:
    """An extraction task whose examples' answers are not copied from their inputs is
    text-to-text: there is no context to take a span from ("What is the capital of France?"
    -> Paris). The spec then says so in its output format, and the returned note says why;
    a span student could never be trained on such rows."""
    from tools.train.predictor import split_question_context

    demos = [d for d in spec.demonstrations if d.output.strip()]
    if spec.kind != "extraction" or not demos or any(split_question_context(d.input) for d in demos):
        return spec, []  # a demonstration with a context (maybe cut short in the description) is QA
    inside = sum(" ".join(d.output.lower().split()) in " ".join(d.input.lower().split()) for d in demos)
    if inside * 2 > len(demos):
        return spec, []
    spec = spec.model_copy(update={"kind": "generation", "metric": "", "labels": [],
                                   "output_format": "the answer, written out (the examples give no "
                                                    "context to copy it from)"})
    spec.model_post_init(None)
    return spec, [f"treated as text-to-text: {len(demos) - inside} of {len(demos)} examples' answers are "
                  "not in their input, so there is no context to copy a span from"]
