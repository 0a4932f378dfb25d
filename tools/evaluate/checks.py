"""Does the estimate fit the task? Label coverage and label shift between training and evaluation.

An estimate measured on rows of 3 labels says nothing about a task of 77: the
user is told in one sentence before deploying on it.
"""

from __future__ import annotations

from collections import Counter

COVERAGE_MIN = 0.8  # share of the task's labels the evaluation rows must hold
SHIFT_MAX = 0.3  # total variation distance between training and evaluation label shares


SYNTHETIC_WARNING = ("The estimate is on the teacher's own held-out examples, not on real data: on the "
                     "benchmark suites (evals/RESULTS.md) such estimates ran 0.2-0.6 above the real test "
                     "split. Score the model on a few of your own labelled examples before relying on it.")


def estimate_warnings(labels: list[str], train_outputs: list[str], eval_outputs: list[str],
                      source: str = "") -> list[str]:
    """One sentence per problem with the estimate's rows: labels missing or shifted (classification),
    and, for any kind, rows the teacher wrote itself (they are easier than real inputs)."""
    out = [SYNTHETIC_WARNING] if "synthetic" in source.lower() and eval_outputs else []
    if not labels or not eval_outputs:
        return out
    seen = set(eval_outputs) & set(labels)
    if len(seen) < COVERAGE_MIN * len(labels):
        missing = [lab for lab in labels if lab not in seen]
        out.append(f"The estimate covers only {len(seen)} of the task's {len(labels)} labels "
                   f"(none of {', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}): "
                   "it says little about the rest.")
    if train_outputs:
        a, b = Counter(train_outputs), Counter(eval_outputs)
        na, nb = sum(a.values()), sum(b.values())
        tv = 0.5 * sum(abs(a[lab] / na - b[lab] / nb) for lab in set(a) | set(b))
        if tv > SHIFT_MAX:
            out.append(f"The labels are spread very differently in training and in the estimate's "
                       f"rows (total variation {tv:.2f}): the estimate may not hold on your data.")
    return out
