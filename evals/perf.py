"""Performance benchmarks, each against a reference measured in the same run.

    python -m evals.perf            # prints the table, appends it to evals/RESULTS.md
    python -m evals.perf --no-write --steps 20

- training throughput of our trainer (tools.train.worker.run: the product's path, with its
  evaluations, checkpoints and progress file) vs a plain transformers Trainer on the same
  model, data, batch and sequence length (ratio): the packaged MiniLM encoder on TREC
  questions (examples/s), and a tiny Llama;
- training FLOP/s (6 x params x tokens) as a fraction of a large matmul's measured FLOP/s
  (fp32, and bf16 where our trainer runs in bf16);
- synthetic-data generation efficiency against a fixed-latency fake server
  (ideal time = requests x latency / concurrency, divided by the measured time);
- retrieval latency of the product's dataset search (warm);
- exported-student vs teacher latency per example: from the suites (evals/suites.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def matmul_flops(n: int = 2048, reps: int = 5, dtype=None) -> float:
    import torch

    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    t = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return 2 * n ** 3 * reps / (time.perf_counter() - t)


def _rows(n: int) -> list[dict]:
    import random

    from tests.fixtures_models import WORDS

    rng = random.Random(0)
    return [{"input": " ".join(rng.choice(WORDS) for _ in range(18)),
             "output": " ".join(rng.choice(WORDS) for _ in range(6))} for _ in range(n)]


def training(tmp: Path, steps: int, hidden: int, batch: int, max_len: int) -> dict:
    import torch
    from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling,
                              Trainer, TrainingArguments)

    from tests.fixtures_models import tiny_llama
    from tools.train import TrainConfig, write_rows
    from tools.train.worker import run

    base = tiny_llama(tmp / "base", hidden=hidden)
    rows = _rows(steps * batch + 64)
    write_rows(tmp / "train.jsonl", rows)
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(base).parameters())

    # ours: the product's trainer (validation split, evaluations, checkpoints, progress events)
    cfg = TrainConfig(run_id="perf", run_dir=str(tmp / "ours"), kind="generation", method="causal_full",
                      base_model=str(base), train_path=str(tmp / "train.jsonl"), epochs=100,
                      max_steps=steps, batch_size=batch, max_length=max_len, learning_rate=1e-3,
                      instruction="Continue the text.", record_to_store=False,
                      early_stopping_patience=1000)
    t = time.perf_counter()
    res = run(cfg)
    ours_total = time.perf_counter() - t
    prog = [json.loads(x) for x in (Path(cfg.run_dir) / "progress.jsonl").read_text().splitlines() if x.strip()]
    steps_done = max((p.get("step") or 0) for p in prog)

    # plain: a bare Trainer, no evaluation, no checkpoints, same tokens per row
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    enc = [tok(f"Continue the text.\n{r['input']}\n{r['output']}", truncation=True, max_length=max_len)
           for r in rows]
    ntok = statistics.mean(len(e["input_ids"]) for e in enc)
    args = TrainingArguments(output_dir=str(tmp / "plain"), per_device_train_batch_size=batch,
                             max_steps=steps, learning_rate=1e-3, save_strategy="no", eval_strategy="no",
                             logging_steps=10 ** 6, report_to=[], use_cpu=True, disable_tqdm=True,
                             dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=[{"input_ids": e["input_ids"]} for e in enc],
                      data_collator=DataCollatorForLanguageModeling(tok, mlm=False))
    t = time.perf_counter()
    out = trainer.train()
    plain_s = time.perf_counter() - t
    ours_train_s = res.get("train_seconds") or res.get("wall_seconds") or ours_total
    flops = 6 * params * ntok * batch * steps
    mm = matmul_flops()
    return {"params": params, "steps": steps, "steps_done": steps_done, "batch": batch,
            "tokens_per_row": round(ntok, 1), "status": res.get("status"),
            "ours_s": round(ours_train_s, 2), "ours_total_s": round(ours_total, 2),
            "plain_s": round(plain_s, 2), "plain_runtime_s": round(out.metrics.get("train_runtime", plain_s), 2),
            "throughput_ratio": round(plain_s / ours_train_s, 3),
            "ours_flops": flops / ours_train_s, "plain_flops": flops / plain_s, "matmul_flops": mm,
            "ours_mfu": flops / ours_train_s / mm, "plain_mfu": flops / plain_s / mm,
            "torch_threads": torch.get_num_threads()}


def _encoder_rows(n: int) -> list[dict]:
    """TREC questions (the real train split) when ../shared is there, else generated sentences."""
    from evals.tasks import DATA, read_jsonl

    path = DATA / "trec" / "train.jsonl"
    if path.exists():
        return [{"input": r["input"], "output": r["output"]} for r in read_jsonl(path)[:n]]
    return [{**r, "output": "LOC" if i % 2 else "HUM"} for i, r in enumerate(_rows(n))]


def encoder_training(tmp: Path, steps: int, batch: int, repeats: int = 2) -> dict:
    """Our encoder fine-tune (worker `run`: evaluations, checkpoints, progress, bf16 where the CPU has
    it, length-grouped batches) vs a bare Trainer (fp32, random batches, dynamic padding) on the
    packaged MiniLM, the same rows, batch and steps; alternated `repeats` times (medians)."""
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              Trainer, TrainingArguments)

    from tools.train import TrainConfig, write_rows
    from tools.train.base_models import minilm_path
    from tools.train.hf import use_bf16
    from tools.train.worker import run

    base = minilm_path()
    rows = _encoder_rows(int(steps * batch / 0.9) + 40)  # 10% goes to validation in our run
    labels = sorted({r["output"] for r in rows})
    write_rows(tmp / "enc.jsonl", rows)
    tok = AutoTokenizer.from_pretrained(base)
    enc = tok([r["input"] for r in rows], truncation=True, max_length=128)
    ntok = statistics.mean(len(x) for x in enc["input_ids"])
    params = sum(p.numel() for p in AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels)).parameters())
    ours, plain, ours_acc = [], [], []
    for i in range(repeats):
        cfg = TrainConfig(run_id=f"enc{i}", run_dir=str(tmp / f"enc-ours{i}"), kind="classification",
                          method="encoder_finetune", base_model=str(base), train_path=str(tmp / "enc.jsonl"),
                          labels=labels, max_steps=steps, batch_size=batch, learning_rate=5e-5,
                          record_to_store=False, early_stopping_patience=1000)
        res = run(cfg)
        ours.append(res["train_seconds"])
        ours_acc.append((res.get("validation") or {}).get("accuracy"))
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(labels))
        ds = [{"input_ids": e, "attention_mask": [1] * len(e), "labels": labels.index(r["output"])}
              for e, r in zip(enc["input_ids"], rows)]
        args = TrainingArguments(output_dir=str(tmp / f"enc-plain{i}"), per_device_train_batch_size=batch,
                                 max_steps=steps, learning_rate=5e-5, save_strategy="no", eval_strategy="no",
                                 logging_steps=10 ** 6, report_to=[], use_cpu=True, disable_tqdm=True,
                                 dataloader_num_workers=0)
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=DataCollatorWithPadding(tok))
        t = time.perf_counter()
        trainer.train()
        plain.append(time.perf_counter() - t)
    ours_s, plain_s = statistics.median(ours), statistics.median(plain)
    rows_done = steps * batch
    flops = 6 * params * ntok * rows_done
    mm32, mm16 = matmul_flops(), matmul_flops(dtype=torch.bfloat16)
    bf16 = use_bf16("auto")
    peak = mm16 if bf16 else mm32
    return {"params": params, "steps": steps, "batch": batch, "tokens_per_row": round(ntok, 1),
            "precision": "bf16" if bf16 else "fp32", "ours_s": [round(x, 1) for x in ours],
            "plain_s": [round(x, 1) for x in plain], "ours_rows_s": rows_done / ours_s,
            "plain_rows_s": rows_done / plain_s, "throughput_ratio": round(plain_s / ours_s, 3),
            "matmul_fp32": mm32, "matmul_bf16": mm16, "ours_flops": flops / ours_s, "plain_flops": flops / plain_s,
            "ours_mfu": flops / ours_s / peak, "plain_mfu": flops / plain_s / mm32,
            "ours_mfu_vs_fp32": flops / ours_s / mm32, "ours_val_accuracy": ours_acc,
            "torch_threads": torch.get_num_threads()}


def generation(tmp: Path, n: int, latency: float, concurrency: int) -> dict:
    from evals.faults import teacher_responder
    from tests.fakes.openai_server import FakeOpenAIServer
    from tools.contracts import TaskSpec
    from tools.llm import LLMClient
    from tools.settings import Settings
    from tools.synth import SynthConfig, generate_round

    spec = TaskSpec.model_validate({"instruction": "Classify support tickets as billing, technical or other.",
                                    "kind": "classification", "labels": ["billing", "technical", "other"]})
    with FakeOpenAIServer(responder=teacher_responder, latency=latency) as srv:
        client = LLMClient(Settings(home=tmp / "gen", openai_base_url=srv.base_url, openai_api_key="sk-x",
                                    model="fake-model", cache=False))
        cfg = SynthConfig(concurrency=concurrency, consistency_k=0, propose_attributes=False,
                          near_dup_threshold=None, overlap_threshold=None)
        t = time.perf_counter()
        res = generate_round(spec, client, n=n, round=1, config=cfg)
        dt = time.perf_counter() - t
        reqs = srv.counts["chat"]
        peak = srv.max_in_flight
    ideal = reqs * latency / concurrency
    return {"requests": reqs, "accepted": len(res.accepted), "latency_s": latency, "concurrency": concurrency,
            "seconds": round(dt, 2), "ideal_s": round(ideal, 2), "efficiency": round(ideal / dt, 3),
            "max_in_flight": peak}


def retrieval(tmp: Path, queries=("classify questions by the type of answer", "sms spam detection",
                                   "movie review sentiment", "news topic classification",
                                   "answer questions about a paragraph")) -> dict:
    from tools.hub.search import search_datasets
    from tools.settings import Settings

    s = Settings(home=tmp / "ret", offline=True)
    t = time.perf_counter()
    search_datasets(queries[0], s, k=10)
    cold = time.perf_counter() - t
    lat = []
    for q in queries:
        t = time.perf_counter()
        search_datasets(q, s, k=10)
        lat.append(time.perf_counter() - t)
    return {"cold_s": round(cold, 2), "warm_median_ms": round(statistics.median(lat) * 1000, 1),
            "warm_max_ms": round(max(lat) * 1000, 1), "queries": len(lat)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.perf", description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--enc-steps", type=int, default=40, help="encoder comparison: steps per run")
    ap.add_argument("--enc-batch", type=int, default=32)
    ap.add_argument("--only-encoder", action="store_true", help="skip the other measures")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="p2m-perf-") as d:
        tmp = Path(d)
        enc = encoder_training(tmp, args.enc_steps, args.enc_batch)
        if args.only_encoder:
            tr, gens, ret = None, [], None
        else:
            tr = training(tmp, args.steps, args.hidden, args.batch, args.max_len)
            gens = [generation(tmp, 24, lat, 4) for lat in (0.1, 0.5)]
            ret = retrieval(tmp)
    if args.json:
        print(json.dumps({"encoder": enc, "training": tr, "generation": gens, "retrieval": ret}, indent=1))
    load = os.getloadavg()[0]
    enc_lines = [
        f"| encoder fine-tune, packaged MiniLM ({enc['params'] / 1e6:.1f}M), {enc['steps']} steps x batch "
        f"{enc['batch']} TREC questions (~{enc['tokens_per_row']} tokens), median of {len(enc['ours_s'])} "
        f"alternated runs | {enc['ours_rows_s']:.1f} examples/s ({enc['precision']}, length-grouped; worker "
        f"`run` incl. evals/checkpoints; {enc['ours_s']} s) | {enc['plain_rows_s']:.1f} examples/s (bare "
        f"`Trainer`, fp32; {enc['plain_s']} s) | ours/bare throughput {enc['throughput_ratio']} |",
        f"| encoder training FLOP/s (6 x params x tokens) | {enc['ours_flops'] / 1e9:.2f} GFLOP/s = "
        f"{enc['ours_mfu']:.1%} of the {enc['precision']} matmul ({enc['ours_mfu_vs_fp32']:.1%} of fp32's) | "
        f"{enc['plain_flops'] / 1e9:.2f} GFLOP/s = {enc['plain_mfu']:.1%} of the fp32 matmul | matmul 2048^3: "
        f"fp32 {enc['matmul_fp32'] / 1e9:.1f}, bf16 {enc['matmul_bf16'] / 1e9:.1f} GFLOP/s |"]
    if args.only_encoder:
        from evals.results import publish

        publish("Performance: encoder trainer (issue 15)",
                [f"Command: `python -m evals.perf {' '.join(argv if argv is not None else sys.argv[1:])}`; "
                 f"load average at the end {load:.1f} on {os.cpu_count()} cores.", "",
                 "| measure | ours | reference (same run) | ratio |", "|---|---|---|---|", *enc_lines],
                write=not args.no_write)
        return 0
    lines = [f"Command: `python -m evals.perf {' '.join(argv if argv is not None else sys.argv[1:])}`; "
             f"load average at the end {load:.1f} on {os.cpu_count()} cores (other work ran at the same time: "
             "read the ratios, not the absolute times).", "",
             "| measure | ours | reference (same run) | ratio |", "|---|---|---|---|", *enc_lines,
             f"| training, {tr['params'] / 1e6:.1f}M-param Llama, {tr['steps']} steps x batch {tr['batch']} x "
             f"~{tr['tokens_per_row']} tokens | {tr['ours_s']} s (worker `run`, incl. evals/checkpoints) | "
             f"{tr['plain_s']} s (bare `Trainer`) | ours/bare throughput {tr['throughput_ratio']} |",
             f"| training FLOP/s (6 x params x tokens) | {tr['ours_flops'] / 1e9:.2f} GFLOP/s | "
             f"matmul 2048^3 fp32: {tr['matmul_flops'] / 1e9:.1f} GFLOP/s | {tr['ours_mfu']:.1%} "
             f"(bare Trainer {tr['plain_mfu']:.1%}) |"]
    for g in gens:
        lines.append(f"| synthetic generation, fake server {g['latency_s']} s/request, concurrency "
                     f"{g['concurrency']} | {g['requests']} requests in {g['seconds']} s ({g['accepted']} "
                     f"accepted, peak {g['max_in_flight']} in flight) | ideal {g['ideal_s']} s | "
                     f"efficiency {g['efficiency']:.0%} |")
    lines.append(f"| dataset search (Hub snapshot index, k=10) | warm median {ret['warm_median_ms']} ms, "
                 f"max {ret['warm_max_ms']} ms | first query (loads index + MiniLM) {ret['cold_s']} s | - |")
    lines += ["", "- The tiny model makes the fixed costs of our trainer (a validation split, evaluations, "
              "checkpoint saves, progress writes) a large share; on SmolLM2-135M steps dominate (FACTS.md: "
              "HF Trainer and a plain loop ran at the same speed).",
              "- Exported-student vs teacher latency per example is in the suite tables (ms per example column)."]
    from evals.results import publish

    publish("Performance (issue 8)", lines, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
