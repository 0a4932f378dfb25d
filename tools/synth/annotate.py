"""The teacher as annotator: real, unlabeled text gets labels from the teacher.

Real inputs beat invented ones (SuperGen, ZeroGen): a retrieved dataset whose
labels don't fit the task, or a text column without labels, still holds inputs
from the task's domain. Each text is labelled twice with the teacher's task
prompt and a constrained label enum: once greedily and once with the
demonstrations in reverse order. A row is kept when the two agree; the rest are
kept as rejected rows with both answers. Provenance: `annotated:<source>`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, Field

from tools.contracts import Example, TaskSpec
from tools.synth.consistency import teacher_answer


class AnnotationReport(BaseModel):
    """What annotation produced, for the data report."""

    texts: int
    labelled: int = Field(description="rows where both answers agree (kept)")
    disagreed: int
    failed: int = Field(description="rows the teacher gave no usable label for")
    agreement: float = Field(description="share of answered rows where the two answers agree")
    label_counts: dict[str, int] = Field(default_factory=dict)

    def line(self) -> str:
        """One line for the data report."""
        return (f"teacher-annotated real text: {self.labelled} of {self.texts} rows kept "
                f"(two answers agreed on {self.agreement:.0%}; {self.disagreed} disagreed, "
                f"{self.failed} unanswered)")


def annotate(spec: TaskSpec, client, texts: list[str], sources: list[str], *,
             concurrency: int = 4, store=None, session_id: str | None = None,
             round_: int = 0) -> tuple[list[Example], AnnotationReport]:
    """Label `texts` with the teacher (classification only); returns (examples, report).

    `sources[i]` names where text i came from (e.g. "ag_news@default/train/17");
    every example, kept or not, is returned and stored.
    """
    if spec.kind != "classification" or not spec.labels:
        raise ValueError("annotation needs a classification spec with labels")
    flipped = spec.model_copy(update={"demonstrations": list(reversed(spec.demonstrations))})
    max_chars = max(len(x) for x in spec.labels) + 8

    def one(text: str) -> tuple[str | None, str | None]:
        a = teacher_answer(spec, client, text, purpose="annotate", max_chars=max_chars)
        b = teacher_answer(flipped, client, text, purpose="annotate", max_chars=max_chars)
        return a, b

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        answers = list(pool.map(one, texts))
    out, counts, agreed, answered, failed = [], {}, 0, 0, 0
    for text, src, (a, b) in zip(texts, sources, answers):
        ok = a is not None and a == b
        if a is None or b is None:
            failed += 1
            verdict = "the teacher gave no usable label"
        else:
            answered += 1
            agreed += ok
            verdict = "pass" if ok else f"the teacher's two answers differ ({a!r} vs {b!r})"
        if ok:
            counts[a] = counts.get(a, 0) + 1
        out.append(Example(input=text, output=a or "", source=f"annotated:{src}",
                           teacher=getattr(client, "model_name", None), accepted=ok,
                           params={"answers": [a, b]}, verdicts={"agreement": verdict}))
    if store is not None and out:
        store.record_many("examples", [{
            "session_id": session_id, "round": round_, "input": e.input, "output": e.output,
            "split": e.split, "source": e.source, "teacher": e.teacher, "params": e.params,
            "verdicts": e.verdicts, "accepted": e.accepted} for e in out])
    report = AnnotationReport(texts=len(texts), labelled=sum(e.accepted for e in out),
                              disagreed=answered - agreed, failed=failed,
                              agreement=round(agreed / answered, 4) if answered else 0.0,
                              label_counts=counts)
    return out, report
