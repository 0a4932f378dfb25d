"""One evaluation round: student vs teacher vs untuned base on one held-out split."""

from __future__ import annotations

import logging
from pathlib import Path

from tools.contracts import MetricValue, RunResult, SystemScore, TaskSpec
import tools.evaluate.errors as errors
import tools.evaluate.metrics as metrics
import tools.evaluate.systems as systems
from tools.train.record import record

log = logging.getLogger(__name__)


def _rows(test) -> tuple[list[str], list]:
    """(inputs, golds): a row's gold is its output, or all of its `answers` when it lists several
    acceptable ones (SQuAD), which the metrics score best-of."""
    rows = [r if isinstance(r, dict) else {"input": r.input, "output": r.output} for r in test]
    golds = []
    for r in rows:
        answers = [str(a).strip() for a in r.get("answers") or [] if str(a).strip()]
        golds.append(list(dict.fromkeys(answers)) if answers else str(r["output"]).strip())
    return [str(r["input"]) for r in rows], golds


def folder_mb(path: str | Path) -> float:
    """Size of a model folder on disk, MB."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


def default_base(spec: TaskSpec, base_model: str = "") -> systems.System:
    """The untuned base row: zero-shot label similarity (encoder) or the untuned LM."""
    from tools.train.base_models import resolve_base

    path = resolve_base(spec.kind, base_model)
    if spec.kind == "classification":
        return systems.zero_shot_embedding(path, spec.labels)
    return systems.untuned_causal(path, spec.instruction)


def evaluate(spec: TaskSpec, model_path: str | Path, test, *, run_id: str, client=None,
             base: systems.System | None = None, teacher_limit: int | None = None,
             store=None, seed: int = 0, hyperparameters: dict | None = None,
             train_seconds: float = 0.0, base_model: str = "", latency_sample: int = 50,
             split: str = "test") -> RunResult:
    """Score the student, the teacher (when a client is given) and the base model.

    teacher_limit: score the teacher and base on the first N rows only (they are
    slow); the student is then also reported on that same subset under
    metrics[f"{split}[:N]"], so the comparison stays on identical rows.
    Failures (for the loop back) are the student's, grouped.
    """
    inputs, golds = _rows(test)
    if not inputs:
        raise ValueError("the held-out split is empty: nothing to evaluate on")
    if spec.kind == "classification" and not spec.labels:
        raise ValueError("a classification spec needs its labels to score the teacher")
    kind = spec.kind
    stu = systems.student(model_path)
    preds = systems.timed_predict(stu, inputs, one_by_one=min(latency_sample, len(inputs)))
    scores = [_score(stu, kind, preds, golds, seed)]
    result_metrics = {split: scores[0].metrics}

    n_sub = min(teacher_limit or len(inputs), len(inputs))
    sub_in, sub_gold = inputs[:n_sub], golds[:n_sub]
    if n_sub < len(inputs):
        result_metrics[f"{split}[:{n_sub}]"] = metrics.compute(kind, preds[:n_sub], sub_gold, seed)
    if client is not None:
        tch = systems.teacher(client, spec)
        tpreds = systems.timed_predict(tch, sub_in)
        if tch.errors == n_sub:  # never answered: no score, rather than a measured-looking 0
            log.warning("teacher row skipped: all %d calls to %s failed", n_sub, tch.name)
        else:
            row = _score(tch, kind, tpreds, sub_gold, seed)
            row.metrics["unparseable_rate"] = MetricValue(value=tch.unparseable / n_sub)
            row.metrics["error_rate"] = MetricValue(value=tch.errors / n_sub)
            scores.append(row)
    try:
        bas = base or default_base(spec, base_model)
        scores.append(_score(bas, kind, systems.timed_predict(bas, sub_in), sub_gold, seed))
    except Exception as e:  # noqa: BLE001 - a missing base model must not hide the student's numbers
        log.warning("base model row skipped: %s", e)

    known = stu_labels(model_path)
    if kind == "classification":
        fails = errors.by_confusion(inputs, metrics.first_gold(golds), preds, known)
    else:
        ok = [metrics.best_over(metrics.exact_match, p or "", g) == 1.0 for p, g in zip(preds, golds)]
        fails = errors.by_cluster(inputs, metrics.first_gold(golds), preds, ok, seed=seed)
    result = RunResult(run_id=run_id, model_path=str(model_path), base_model=base_model or "",
                       hyperparameters=hyperparameters or {}, metrics=result_metrics, scores=scores,
                       failures=fails, train_seconds=train_seconds, size_mb=round(folder_mb(model_path), 1))
    for s in scores:
        for name, mv in s.metrics.items():
            record(store, "metrics", {"run_id": run_id, "split": split if s.n == len(inputs) else
                                      f"{split}[:{s.n}]", "system": s.system, "name": name,
                                      "value": mv.value, "low": mv.low, "high": mv.high})
    return result


def stu_labels(model_path) -> list[str] | None:
    """Labels the student was trained with (from its p2m_model.json)."""
    import json

    p = Path(model_path) / "p2m_model.json"
    return json.loads(p.read_text()).get("labels") if p.exists() else None


def _score(system: systems.System, kind: str, preds, golds, seed: int) -> SystemScore:
    return SystemScore(system=system.role, name=system.name, metrics=metrics.compute(kind, preds, golds, seed),
                       latency_ms=round(system.latency_ms, 3) if system.latency_ms is not None else None,
                       params_m=round(system.params_m, 2) if system.params_m else None, n=len(golds))


def unit_score(result: RunResult, system: str, metric: str) -> float | None:
    """One system's score on `metric`, on the 0-1 scale targets use (None when not scored)."""
    for s in result.scores:
        if s.system == system and metric in s.metrics:
            return metrics.unit_value(metric, s.metrics[metric].value)
    return None


def summary_table(result: RunResult) -> str:
    """A plain-text table of the three rows (for CLIs and the model card)."""
    lines = ["system   n     " + "  ".join(f"{m:>22}" for m in _main_metrics(result)) + "  latency_ms  params_M"]
    for s in result.scores:
        cells = []
        for m in _main_metrics(result):
            mv = s.metrics.get(m)
            cells.append(f"{mv.value:.3f} [{mv.low:.3f}, {mv.high:.3f}]".rjust(22) if mv and mv.low is not None
                         else ("-" if not mv else f"{mv.value:.3f}").rjust(22))
        lines.append(f"{s.system:<8} {s.n:<5} " + "  ".join(cells) +
                     f"  {s.latency_ms if s.latency_ms is not None else '-':>10}  {s.params_m or '-':>8}")
    return "\n".join(lines)


def _main_metrics(result: RunResult) -> list[str]:
    if not result.scores:
        return []
    return [m for m in result.scores[0].metrics if "[" not in m]
