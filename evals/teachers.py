"""Which embedded model should teach? Each packaged model, on real dev tasks, side by side.

    python -m evals.teachers --json                              # all models, sst2 trec ag_news
    python -m evals.teachers --models qwen2.5-coder-1.5b-instruct --tasks sst2 --n 120

For each model (served by the product's own embedded server, one at a time) and task:
- labeller: the teacher's constrained few-shot answer (label enum) on the first
  `--label-rows` test rows, accuracy;
- generator: one synthetic round of `--n` examples (the product's generator,
  demonstrations from the train split), accepted examples per minute, output
  tokens/s over the parallel slots vs one request alone on the same server,
  distinct bigrams and embedding spread;
- student: frozen MiniLM + logistic regression (the product's `frozen_lr`
  trainer) on those examples alone, scored on the first 500 real test rows.
The test split never reaches generation (its inputs are the contamination check).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "tasks"
INSTRUCTIONS = {
    "sst2": "Classify the sentiment of the movie review sentence as positive or negative.",
    "trec": "Classify the question by the type of its answer: ABBR (abbreviation), DESC "
            "(description), ENTY (entity), HUM (human), LOC (location) or NUM (numeric value).",
    "ag_news": "Classify the news article by topic.",
    "sms_spam": "Classify the SMS message as spam or ham.",
    "emotion": "Classify the emotion expressed in the tweet."}
TRAIN_FILE = {"ag_news": "train_subset_alps.jsonl"}


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def task_spec(name: str, demos_per_label: int = 1):
    """The task's spec with demonstrations from its train split, and its test rows."""
    from tools.contracts import Demonstration, TaskSpec

    d = DATA / name
    lab = json.loads((d / "labels.json").read_text())
    labels = [str(x) for x in (lab.get("labels", lab) if isinstance(lab, dict) else lab)]
    train = _rows(d / TRAIN_FILE.get(name, "train.jsonl"))
    random.Random(0).shuffle(train)
    demos = []
    for label in labels:
        demos += [r for r in train if str(r["output"]) == label][:demos_per_label]
    spec = TaskSpec(instruction=INSTRUCTIONS[name], kind="classification", labels=labels,
                    demonstrations=[Demonstration(input=" ".join(str(r["input"]).split())[:300],
                                                  output=str(r["output"])) for r in demos])
    return spec, _rows(d / "test.jsonl")


def single_stream_tps(client, spec) -> float:
    """Output tokens/s of one request alone on the server (the baseline for parallel slots)."""
    from tools.synth import SynthConfig, generate_round
    from tools.synth.embed import hashed_bow_embed

    t0 = time.perf_counter()
    res = generate_round(spec, client, n=1, round=99, embedder=hashed_bow_embed,
                         config=SynthConfig(concurrency=1, items_per_request=6, attempts_factor=1,
                                            propose_attributes=False, near_dup_threshold=None,
                                            overlap_threshold=None))
    return round(res.report.completion_tokens / (time.perf_counter() - t0), 2)


def labeller(client, spec, test: list[dict], rows: int) -> dict:
    from tools.evaluate.systems import teacher, timed_predict

    t = teacher(client, spec)
    sub = test[:rows]
    preds = timed_predict(t, [r["input"] for r in sub])
    acc = sum(p == str(r["output"]) for p, r in zip(preds, sub)) / len(sub)
    return {"accuracy": round(acc, 3), "n": len(sub), "ms_per_row": round(t.latency_ms or 0, 1),
            "unusable": t.unparseable + t.errors}


def student(spec, examples, test: list[dict], work: Path) -> dict:
    """frozen MiniLM + logistic regression on the synthetic rows alone, real test rows."""
    from tools.evaluate.metrics import compute
    from tools.train import TrainConfig, run_training
    from tools.train.predictor import Predictor

    path = work / "train.jsonl"
    path.write_text("".join(json.dumps({"input": e.input, "output": e.output}) + "\n" for e in examples))
    cfg = TrainConfig(run_id="teacher-eval", run_dir=str(work / "run"), kind="classification",
                      method="frozen_lr", train_path=str(path), labels=spec.labels,
                      record_to_store=False)
    result = run_training(cfg)
    if result.get("status") == "failed":
        return {"error": result.get("error")}
    sub = test[:500]
    preds = Predictor(result["model_path"]).predict([r["input"] for r in sub])
    m = compute("classification", preds, [str(r["output"]) for r in sub])
    return {"accuracy": round(m["accuracy"].value, 3),
            "ci": [round(m["accuracy"].low, 3), round(m["accuracy"].high, 3)], "n": len(sub),
            "macro_f1": round(m["macro_f1"].value, 3)}


def one_model(model: str, tasks: list[str], n: int, label_rows: int) -> list[dict]:
    from tools.llm import LLMClient, embedded
    from tools.settings import Settings
    from tools.synth import SynthConfig, generate_round

    out = []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=home, embedded_model=model, cache=False)
        t0 = time.perf_counter()
        client = LLMClient(settings)
        client.chat([("user", "Say OK.")], purpose="warmup", max_tokens=2)
        start_s = round(time.perf_counter() - t0, 1)
        try:
            for name in tasks:
                spec, test = task_spec(name)
                row = {"model": model, "task": name, "server_start_s": start_s}
                row["labeller"] = labeller(client, spec, test, label_rows)
                row["single_stream_tps"] = single_stream_tps(client, spec)
                t1 = time.perf_counter()
                res = generate_round(spec, client, n=n, round=1, config=SynthConfig(),
                                     eval_inputs=[r["input"] for r in test])
                rep = res.report
                row["generator"] = {"accepted": rep.accepted, "requests": rep.requested,
                                    "acceptance": round(rep.acceptance_rate, 3),
                                    "seconds": round(time.perf_counter() - t1, 1),
                                    "accepted_per_min": rep.accepted_per_minute,
                                    "parallel_tps": rep.decode_tps,
                                    "duplicate_rate": rep.duplicate_rate,
                                    "distinct_2": rep.distinct_2, "spread": rep.embedding_spread,
                                    "labels": rep.label_counts, "rejected": rep.rejected_by_reason,
                                    "sample": [e.input[:90] for e in res.accepted[:3]]}
                with tempfile.TemporaryDirectory() as work:
                    row["student"] = student(spec, res.accepted, test, Path(work)) if res.accepted else {}
                out.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
        finally:
            embedded.stop(settings)
    return out


def table(rows: list[dict]) -> str:
    lines = ["| model | task | labeller acc (n) | accepted/min | tokens/s parallel / single | "
             "distinct-2 | spread | student acc [95% CI] (n=500) | round s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g, s, lab = r["generator"], r.get("student") or {}, r["labeller"]
        lines.append(f"| {r['model']} | {r['task']} | {lab['accuracy']:.3f} ({lab['n']}) | "
                     f"{g['accepted_per_min']:.1f} | {g['parallel_tps']:.1f} / {r['single_stream_tps']:.1f} | "
                     f"{g['distinct_2']:.2f} | {g['spread'] if g['spread'] is not None else '-'} | "
                     f"{s.get('accuracy', '-')} {s.get('ci', '')} | {g['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from tools.llm.embedded_models import MODELS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--tasks", nargs="+", default=["sst2", "trec", "ag_news"])
    ap.add_argument("--n", type=int, default=120, help="synthetic examples per task")
    ap.add_argument("--label-rows", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    rows = [r for m in a.models for r in one_model(m, a.tasks, a.n, a.label_rows)]
    print(json.dumps(rows, indent=1) if a.json else table(rows))
    if a.json:
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
