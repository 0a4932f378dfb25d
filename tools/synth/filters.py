"""Quality filters for generated examples. Each returns "pass" or the reason it failed.

The generator runs them in this order and records every verdict on the example:
parse -> label -> length -> format -> echo -> duplicate (exact, then near) ->
eval_overlap -> consistency. The first failure rejects the example; it is still kept and stored.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from tools.contracts import TaskSpec
from tools.synth.config import SynthConfig

Embedder = Callable[[Sequence[str]], np.ndarray]
"""Texts -> L2-normalised vectors, one row per text (so a dot product is the cosine)."""

PASS = "pass"
FILTERS = ("parse", "label", "length", "format", "echo", "duplicate", "eval_overlap", "consistency")


def normalize_text(text: str) -> str:
    """Lowercase, punctuation to spaces, whitespace collapsed: the exact-match key."""
    return " ".join(re.sub(r"[^\w]+", " ", str(text).lower()).split())


def canonical_label(spec: TaskSpec, output: str) -> str | None:
    """The spec label `output` names (case, quotes and punctuation ignored), or None."""
    key = normalize_text(output)
    for lab in spec.labels:
        if normalize_text(lab) == key:
            return lab
    return None


def check_label(spec: TaskSpec, output: str, text: str = "") -> tuple[str, str]:
    """(verdict, output with the label's canonical spelling) for classification specs.

    Also rejects an input that is only a label name (weak teachers echo the label).
    """
    if spec.kind != "classification" or not spec.labels:
        return PASS, output
    lab = canonical_label(spec, output)
    if lab is None:
        return f"label {output[:40]!r} is not one of {spec.labels}", output
    if (echo := canonical_label(spec, text)) is not None:
        return f"input is only the label name {echo!r}", lab
    if (tag := _label_tag(spec, text)) is not None:
        return f"input carries the label {tag!r} as a tag", lab
    return PASS, lab


def _label_tag(spec: TaskSpec, text: str) -> str | None:
    """A label written into the input as a tag ("What is the capital of France? (LOC)", "[spam]"):
    the teacher leaked its answer, often a different one than it labelled the row with."""
    for m in re.finditer(r"[(\[]\s*([^()\[\]]{1,40}?)\s*[)\]]", text):
        if (lab := canonical_label(spec, m.group(1))) is not None:
            return lab
    return None


def length_bounds(spec: TaskSpec, config: SynthConfig) -> tuple[int, int]:
    """(min words, max chars) for an input: the config, widened by the demonstrations."""
    words = [len(d.input.split()) for d in spec.demonstrations]
    lo = min([config.min_input_words] + words)
    return max(1, lo), config.max_input_chars


def check_length(spec: TaskSpec, config: SynthConfig, text: str, output: str) -> str:
    """Reject inputs that are too short or long, and empty outputs."""
    lo, hi = length_bounds(spec, config)
    if not re.search(r"\w", text):
        return "input has no letters or digits"
    n = len(text.split())
    if n < lo:
        return f"input has {n} word(s), fewer than {lo}"
    if len(text) > hi:
        return f"input has {len(text)} characters, more than {hi}"
    if not output.strip():
        return "output is empty"
    return PASS


_CODE_HINT = re.compile(r"(?i)\b(python|code|snippet|program|function|one-liner|expression)\b")


def _parses_as_python(text: str) -> bool:
    import ast

    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        return False


def output_rules(spec: TaskSpec) -> dict:
    """What every demonstrated output shares, so a synthetic output must share it too.

    - code: the task asks for code and every demonstration's output parses as Python;
    - separators: literal pieces (" == ", " | ", ": ") that every output holds, except
      constant outputs that recur (an "N/A" answer keeps its own form).
    Nothing is required from a task without demonstrations (there is nothing to follow).
    """
    outs = [d.output.strip() for d in spec.demonstrations if d.output.strip()]
    if spec.kind == "classification" or len(outs) < 2:
        return {}
    rules: dict = {}
    if _CODE_HINT.search(spec.instruction) and all(_parses_as_python(o) for o in outs):
        rules["python"] = True
    common = [c for c in set(outs) if outs.count(c) > 1 or len(c) <= 4]  # N/A and the like
    varied = [o for o in outs if o not in common] or outs
    seps = [s for s in (" == ", " | ", " -> ", " = ", ": ", "; ", ", ") if all(s in o for o in varied)]
    if seps:
        rules["separators"], rules["constants"] = seps, common
    return rules


def check_format(rules: dict, output: str) -> str:
    """PASS, or how an output breaks the form every demonstration shares (rules: output_rules)."""
    out = output.strip()
    if rules.get("python") and not _parses_as_python(out):
        return "output is not valid Python (it does not parse)"
    if rules.get("separators") and out not in rules.get("constants", []):
        missing = [s for s in rules["separators"] if s not in out]
        if missing:
            return f"output lacks {missing[0]!r}, which every example's output has"
    return PASS


def check_echo(text: str, attrs: dict) -> str:
    """Reject an input that repeats the request instead of doing it, or repeats itself.

    Small teachers sometimes answer "about travel; casual; one sentence" (the item's
    attributes) or loop on a phrase until the length limit.
    """
    t = normalize_text(text)
    topic = normalize_text(attrs.get("topic") or "")
    others = [normalize_text(attrs.get(k) or "") for k in ("style", "length")]
    if topic and topic in t and any(o and o in t for o in others):
        return "input repeats the request's attributes instead of being an example"
    words = t.split()
    if len(words) >= 12 and len(set(words)) / len(words) < 0.4:
        return f"input repeats itself ({len(set(words))} distinct of {len(words)} words)"
    return PASS


def token_f1(a: str, b: str) -> float:
    """SQuAD-style token F1 between two texts (after normalisation)."""
    ta, tb = normalize_text(a).split(), normalize_text(b).split()
    if not ta or not tb:
        return float(ta == tb)
    common = sum(min(ta.count(t), tb.count(t)) for t in set(ta))
    if common == 0:
        return 0.0
    p, r = common / len(ta), common / len(tb)
    return 2 * p * r / (p + r)


def agrees(spec: TaskSpec, config: SynthConfig, generated: str, answer: str) -> bool:
    """Whether a teacher answer agrees with the generated output, by task kind."""
    if spec.kind == "generation":
        return token_f1(generated, answer) >= config.consistency_f1
    return normalize_text(generated) == normalize_text(answer)


class TextIndex:
    """Inputs seen so far: exact keys plus embeddings for near-duplicate search."""

    def __init__(self, embedder: Embedder | None, threshold: float | None):
        self.embedder = embedder if threshold is not None else None
        self.threshold = threshold
        self.keys: dict[str, str] = {}
        self._vecs: list[np.ndarray] = []
        self._texts: list[str] = []

    def add(self, texts: Sequence[str], vecs: np.ndarray | None = None) -> None:
        """Index these texts (embedding them unless vectors are given)."""
        texts = list(texts)
        if not texts:
            return
        for t in texts:
            self.keys.setdefault(normalize_text(t), t)
        if self.embedder is not None:
            vecs = self.embed(texts) if vecs is None else vecs
            self._vecs.extend(np.asarray(vecs, dtype=np.float32))
            self._texts.extend(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """Vectors for texts, or None when near-duplicate search is off."""
        if self.embedder is None or not texts:
            return None
        return np.asarray(self.embedder(list(texts)), dtype=np.float32)

    def exact(self, text: str) -> str | None:
        """The earlier text with the same normalised form, if any."""
        return self.keys.get(normalize_text(text))

    def nearest(self, vec: np.ndarray | None) -> tuple[float, str | None]:
        """(cosine, text) of the most similar indexed text."""
        if vec is None or not self._vecs:
            return 0.0, None
        sims = np.stack(self._vecs) @ vec
        i = int(np.argmax(sims))
        return float(sims[i]), self._texts[i]

    def check(self, text: str, vec: np.ndarray | None, what: str) -> str:
        """PASS, or why `text` matches an indexed text (exactly or above the threshold)."""
        if (hit := self.exact(text)) is not None:
            return f"same text as {what} {hit[:60]!r}"
        sim, near = self.nearest(vec)
        if self.threshold is not None and near is not None and sim >= self.threshold:
            return f"near {what} {near[:60]!r} (cosine {sim:.2f})"
        return PASS
