"""Real tasks end to end: train a student, score it against teacher and base.

    python -m evals.tasks --task trec --source retrieved --json
    python -m evals.tasks --task sms_spam --source retrieved
    python -m evals.tasks --task conala --source retrieved --teacher-limit 100

`--source retrieved` trains on the task's real train split (as if retrieval
found it) and tests on its test split, from ../shared/data/tasks. Other sources
(the full agent loop) plug in as more entries of SOURCES. Output: the student,
teacher and base rows, wall time, training time, size ratio and speed-up, with
pass/fail against the targets in TASKS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tasks"


@dataclass
class TaskDef:
    """One benchmark task: where its data is and what counts as a pass."""

    folder: str
    kind: str
    instruction: str
    metric: str
    target: float | None = None
    train_limit: int | None = None  # rows used for training (None: all)
    teacher_limit: int | None = 200  # teacher/base are slow: score them on the first N test rows
    test_limit: int | None = None  # student test rows (None: the whole test split)
    minutes: float = 10.0  # training time budget: the product's default (Sizes.train_minutes)
    extra: dict = field(default_factory=dict)


TASKS: dict[str, TaskDef] = {
    "trec": TaskDef("trec", "classification",
                    "Classify what kind of answer the question asks for: ABBR (abbreviation), DESC "
                    "(description or abstract concept), ENTY (entity), HUM (human being), LOC (location) "
                    "or NUM (numeric value).", "accuracy", 0.96),
    "sst2": TaskDef("sst2", "classification", "Classify the sentiment of the movie review sentence as "
                    "positive or negative.", "accuracy", 0.90),
    "ag_news": TaskDef("ag_news", "classification", "Classify the news article by topic: World, Sports, "
                       "Business or Sci/Tech.", "accuracy", 0.92, extra={"train_file": "train_subset_alps.jsonl"}),
    "emotion": TaskDef("emotion", "classification", "Classify the emotion expressed in the tweet: sadness, "
                       "joy, love, anger, fear or surprise.", "macro_f1", 0.88),
    "sms_spam": TaskDef("sms_spam", "classification",
                        "Classify the SMS message as spam (unsolicited advertising or scam) or ham "
                        "(a normal personal message).", "macro_f1", 0.95),
    "conala": TaskDef("conala_en", "generation",
                      "Write one line of Python code that does what the English description says.",
                      "chrf", None, train_limit=1000, teacher_limit=50, test_limit=200, minutes=12.0,
                      extra={"epochs": 1.0, "batch_size": 8, "max_length": 160}),
}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def make_spec(td: TaskDef, train: list[dict], labels: list[str]):
    """The TaskSpec a user would have confirmed, demonstrations drawn from train."""
    from tools.contracts import Demonstration, TaskSpec

    demos, seen = [], set()
    for r in train:  # one demonstration per label (or the first four rows)
        key = r["output"] if td.kind == "classification" else len(demos)
        if key not in seen and len(demos) < (len(labels) or 4):
            seen.add(key)
            demos.append(Demonstration(input=r["input"], output=r["output"]))
    return TaskSpec(instruction=td.instruction, kind=td.kind, labels=labels, demonstrations=demos,
                    metric=td.metric, target=td.target)


def teacher_client():
    """The configured LLM (the embedded SmolLM2 when none is set), or None with a note."""
    try:
        from tools.llm import LLMClient

        # No call cache here: a cached reply would fake the teacher's latency.
        return LLMClient(cache=False), None
    except Exception as e:  # noqa: BLE001 - the student numbers still stand without a teacher row
        return None, f"teacher unavailable: {e}"


def run_retrieved(name: str, *, data: Path = DATA, teacher: bool = True, teacher_limit: int | None = None,
                  train_limit: int | None = None, minutes: float | None = None, method: str = "auto",
                  base: str = "", export: bool = False, on_event=None) -> dict:
    """Train on the task's real train split, evaluate on its test split."""
    from tools.evaluate import evaluate, summary_table
    from tools.settings import get_settings
    from tools.train import TrainConfig, run_training, write_rows
    from tools.train.record import open_store

    td = TASKS[name]
    folder = data / td.folder
    if not folder.exists():
        raise SystemExit(f"{folder} not found: clone the repo with ../shared beside it")
    t0 = time.monotonic()
    train = read_jsonl(folder / td.extra.get("train_file", "train.jsonl"))[: train_limit or td.train_limit]
    test = read_jsonl(folder / "test.jsonl")[: td.test_limit]
    labels = json.loads((folder / "labels.json").read_text())["labels"] if td.kind == "classification" else []
    spec = make_spec(td, train, labels)
    settings = get_settings().ensure_dirs()
    run_id = f"eval-{name}-{int(time.time())}"
    run_dir = settings.runs_dir / run_id
    write_rows(run_dir / "train.jsonl", train)
    cfg = TrainConfig(run_id=run_id, run_dir=str(run_dir), kind=td.kind, method=method, base_model=base,
                      train_path=str(run_dir / "train.jsonl"), labels=labels, instruction=td.instruction,
                      time_budget_minutes=minutes or td.minutes, metric=td.metric,
                      **{k: v for k, v in td.extra.items() if k != "train_file"})
    res = run_training(cfg, on_event=on_event)
    if res["status"] == "failed":
        return {"task": name, "status": "failed", "error": res.get("error"), "log": str(run_dir / "worker.log")}
    client, note = teacher_client() if teacher else (None, "teacher skipped (--no-teacher)")
    tl = teacher_limit if teacher_limit is not None else td.teacher_limit
    result = evaluate(spec, res["model_path"], test, run_id=run_id, client=client, teacher_limit=tl,
                      store=open_store(settings), hyperparameters=res.get("hyperparameters", {}),
                      train_seconds=res.get("train_seconds", 0.0), base_model=res.get("base_model", ""))
    rows = {s.system: s for s in result.scores}
    stu, tch = rows.get("student"), rows.get("teacher")
    out = {"task": name, "source": "retrieved", "kind": td.kind, "method": res.get("method"),
           "choice": res.get("choice"), "candidates": res.get("candidates"), "precision": res.get("precision"),
           "base_model_id": res.get("base_model_id"), "max_length": res.get("max_length"),
           "inputs_truncated": res.get("inputs_truncated"), "plan": res.get("plan"),
           "load_average": round(os.getloadavg()[0], 1),
           "n_train": res["data"]["n_train"], "n_validation": res["data"]["n_validation"], "n_test": len(test),
           "teacher_subset": tl if tl and tl < len(test) else None, "train_seconds": round(res["train_seconds"], 1),
           "stop_reason": res.get("stop_reason"), "wall_seconds": round(time.monotonic() - t0, 1),
           "model_path": res["model_path"], "size_mb": result.size_mb,
           "rows": [s.model_dump() for s in result.scores],
           "student_on_teacher_subset": {k: v.model_dump() for k, v in
                                         next((m for s, m in result.metrics.items() if "[:" in s), {}).items()},
           "notes": [n for n in [note] if n], "table": summary_table(result),
           "failures": [{"name": g["name"], "count": g["count"]} for g in result.failures[:8]]}
    if stu and tch and stu.params_m and tch.params_m:
        out["size_ratio"] = round(tch.params_m / stu.params_m, 2)
    if stu and tch and stu.latency_ms and tch.latency_ms:
        out["speedup"] = round(tch.latency_ms / stu.latency_ms, 1)
    if export:
        out["serving"] = export_student(name, spec, res["model_path"], result, test, settings)
    if td.target is not None and stu:
        val = stu.metrics[td.metric].value
        out["target"] = {"metric": td.metric, "value": round(val, 4), "goal": td.target,
                         "met": val >= td.target and out["train_seconds"] <= (minutes or td.minutes) * 60}
    return out


def export_student(name: str, spec, model_path: str, result, test: list[dict], settings,
                   check_rows: int = 1000) -> dict:
    """Export the student as the product does; the ONNX copies are checked on the test rows."""
    from tools.export import export_model

    rows = test[:check_rows]
    folder = export_model(model_path, spec, name=f"eval-{name}", result=result, exports_dir=settings.exports_dir,
                          overwrite=True, sample_inputs=[r["input"] for r in rows[:20]], eval_examples=rows,
                          eval_source=f"the real test split of {name} ({len(test)} rows)")
    meta = json.loads((folder / "p2m_model.json").read_text())
    rt = meta.get("runtime") or {}
    check = rt.get("check") or {}
    ms = {k: (check.get(k) or {}).get("ms_per_example") for k in ("pytorch", "onnx", "int8")}
    return {"folder": str(folder), "chosen": rt.get("chosen"), "check": check,
            "int8_speedup": round(ms["pytorch"] / ms["int8"], 2) if ms["pytorch"] and ms["int8"] else None,
            "onnx_speedup": round(ms["pytorch"] / ms["onnx"], 2) if ms["pytorch"] and ms["onnx"] else None}


SOURCES = {"retrieved": run_retrieved}


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if any(a == "--suite" or a.startswith("--suite=") for a in args_in):
        from evals.suites import main as suites_main  # whole-loop suites: smoke | paper | classification

        return suites_main(args_in)
    ap = argparse.ArgumentParser(prog="python -m evals.tasks", description=__doc__.split("\n")[0])
    ap.add_argument("--task", required=True, choices=sorted(TASKS))
    ap.add_argument("--source", default="retrieved", choices=sorted(SOURCES))
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--no-teacher", action="store_true", help="skip the teacher row")
    ap.add_argument("--teacher-limit", type=int, default=None, help="teacher/base on the first N test rows")
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--minutes", type=float, default=None, help="training time budget")
    ap.add_argument("--method", default="auto")
    ap.add_argument("--base", default="", help="base model folder or packaged:NAME (default: the packaged MiniLM)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--export", action="store_true", help="also export it (ONNX copies checked on the test rows)")
    a = ap.parse_args(argv)

    def show(ev):
        if not a.json and ev.get("event") in ("eval", "end", "oom_retry"):
            print(f"  step {ev.get('step')}/{ev.get('max_steps')} {ev.get('eval_metric')}="
                  f"{ev.get('eval_value')} eta {ev.get('eta_s')}s", file=sys.stderr)

    out = SOURCES[a.source](a.task, data=a.data, teacher=not a.no_teacher, teacher_limit=a.teacher_limit,
                            train_limit=a.train_limit, minutes=a.minutes, method=a.method, base=a.base,
                            export=a.export, on_event=show)
    if a.json:
        print(json.dumps(out, indent=1, default=str))
    else:
        print(out.get("table", out))
        print({k: out.get(k) for k in ("method", "choice", "train_seconds", "wall_seconds", "size_ratio", "speedup",
                                       "target", "teacher_subset", "notes")})
    return 0 if out.get("status") != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
