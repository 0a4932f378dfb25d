"""Gaps in a spec that are worth a question, as typed values (not strings matched by prefix).

The checks here are the ones code can make reliably from the spec and the
description; the clarify node adds the model's judgement (ambiguous label
boundaries, contradictions) when a capable teacher is connected. Each gap has
the question to ask when the model does not phrase a better one, and the
one-click answers a front end can offer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.contracts import TaskSpec

BLOCKING = {"too_vague", "labels_unknown"}
"""Gaps autopilot cannot default past: without them a run would train on a guess."""


@dataclass(frozen=True)
class Gap:
    kind: str
    question: str
    options: list[str] = field(default_factory=list)

    def hint(self) -> str:
        """One line for the clarify prompt ("Checks found: ...")."""
        return f"{self.kind}: {self.question}"


_CONTRADICTION = re.compile(r"(?i)\b(and also|as well as|plus)\b.{0,40}\b(score|rating|rate|explain|"
                            r"summar\w*|reason|why)\b|\b(score|rating)\b.{0,30}\b(and|plus)\b.{0,30}"
                            r"\b(label|classif\w*)")


def _noun(spec: TaskSpec, description: str) -> str:
    """What the labels are called in the description: teams, intents, categories, ..."""
    m = re.search(r"(?i)\b(teams?|departments?|intents?|categories|topics|classes|types|queues?|"
                  r"labels?|tags?)\b", description)
    if not m:
        return "labels"
    word = m.group(1).lower()
    return word if word.endswith("s") else word + "s"


def code_gaps(spec: TaskSpec, description: str) -> list[Gap]:
    """The gaps the code can see, most important first."""
    gaps: list[Gap] = []
    words = len(description.split())
    if words < 4 and not spec.demonstrations:
        gaps.append(Gap("too_vague", "What should the model do? Describe the task in a sentence "
                        "and give two or three examples like 'input' -> output."))
        return gaps
    noun = _noun(spec, description)
    if spec.kind == "classification" and len(spec.labels) < 2:
        gaps.append(Gap("labels_unknown", f"Which {noun} should the model choose from? List them "
                        "(for example: billing, technical, other)."))
    elif spec.kind == "classification" and (spec.labels_exemplified or (
            spec.label_count and spec.label_count != len(spec.labels))):
        stated = f"{spec.label_count} {noun}" if spec.label_count else f"more {noun}"
        gaps.append(Gap("labels_exemplified", f"You named {', '.join(spec.labels[:5])} as examples "
                        f"of {stated}. What is the full list? If a file or dataset holds them, "
                        "say so and I will take the labels from the data.",
                        options=[f"take the {noun} from the data", f"only these {len(spec.labels)}"]))
    if spec.kind == "classification" and _CONTRADICTION.search(description):
        gaps.append(Gap("contradiction", "You ask for a label and also for a score or an "
                        "explanation. Should the model output only the label, or only the other?",
                        options=["only the label"]))
    if spec.kind == "generation" and not spec.demonstrations and spec.output_format in ("", "text"):
        gaps.append(Gap("output_undefined", "What should the output look like? Give one or two "
                        "examples like 'input' -> output."))
    elif not spec.demonstrations:
        gaps.append(Gap("no_examples", "Could you give two or three examples like 'input' -> "
                        "output? They make the training data match what you expect.",
                        options=["no examples, go on"]))
    return gaps
