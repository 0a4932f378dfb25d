"""Training worker: one run from a run.json, in its own process.

    python -m tools.train.worker --config RUN_DIR/run.json
    accelerate launch --multi_gpu --num_processes 2 -m tools.train.worker --config RUN_DIR/run.json

The same file runs unchanged under `accelerate launch` (several GPUs, or several
CPU processes over gloo when there is no GPU): HF Trainer handles the distribution, and only the main process
writes progress, the model folder and result.json. Exit codes: 0 done, 2 bad
data, config or a budget too short to train anything, 3 disk full, 1 anything
else (message in result.json).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # critical on shared 2-core boxes
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tools.train.budget import BudgetError
from tools.train.config import TrainConfig, choose_method
from tools.train.data import (
    DataError,
    check_classification,
    check_text,
    read_rows,
    split_validation,
)
from tools.train import qa
from tools.train.record import open_store, record


def is_oom(e: BaseException) -> bool:
    """True for CPU or GPU out-of-memory errors."""
    if isinstance(e, MemoryError):
        return True
    return isinstance(e, RuntimeError) and "out of memory" in str(e).lower()


def with_batch_backoff(fn, batch_size: int, on_retry=None):
    """Call fn(batch_size); on out-of-memory halve the batch and retry down to 1."""
    while True:
        try:
            return fn(batch_size), batch_size
        except Exception as e:
            if not is_oom(e) or batch_size <= 1:
                raise
            batch_size //= 2
            if on_retry:
                on_retry(batch_size, e)
            try:
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            except ImportError:
                pass


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def prepare(cfg: TrainConfig) -> tuple[str, list, list, list, dict]:
    """Read and check the data; returns (method, train, val, labels, report)."""
    rows = read_rows(cfg.train_path)
    labels = list(cfg.labels)
    method = cfg.method
    if cfg.kind == "classification":
        labels, report, rows = check_classification(rows, labels)
    else:
        report = check_text(rows)
        rows = [r for r in rows if r["output"].strip()]
        if cfg.kind == "extraction" and method in ("auto", "qa_span"):
            method, rows = _span_rows(method, rows, report)
    if cfg.validation_path:
        train, val = rows, read_rows(cfg.validation_path)
        if method == "qa_span":
            val = [{"input": e["input"], "output": e["output"]} for e in qa.span_examples(val)[0]]
    else:
        train, val = split_validation(rows, cfg.validation_fraction, cfg.max_validation_rows,
                                      cfg.seed, stratify=cfg.kind == "classification")
        report["validation"] = "carved from train" if val is not train else "train rows (under 10 rows)"
    if cfg.kind == "classification":
        val = [r for r in val if r["output"].strip() in labels]
    if method == "auto" and cfg.kind != "classification":
        method = choose_method(cfg.kind, len(train), len(labels))
    # classification "auto": both candidates are fitted and the validation winner kept (choose.py)
    if cfg.kind == "classification" and method.startswith("causal"):
        raise DataError(f"method {method} is for text-to-text tasks, not classification")
    if cfg.kind != "classification" and method in ("encoder_finetune", "frozen_lr"):
        raise DataError(f"method {method} needs a classification task")
    if method == "qa_span" and cfg.kind != "extraction":
        raise DataError("method qa_span needs an extraction task (answers copied from the input)")
    report.update(n_train=len(train), n_validation=len(val))
    return method, train, val, labels, report


def _span_rows(method: str, rows: list[dict], report: dict) -> tuple[str, list[dict]]:
    """Extraction: qa_span when the rows are spans of their context (asked for, or "auto" and
    enough of them are), keeping only those rows; the rejects are counted in the report."""
    kept, span = qa.span_examples(rows)
    report.update({k: v for k, v in span.items() if k != "notes"})
    if method == "auto":
        method = choose_method("extraction", len(rows), 0, span_shaped=qa.is_span_shaped(span))
    if method != "qa_span":
        report["notes"] = [f"not span-shaped ({span['span_rows']} of {len(rows)} rows are answers copied "
                           "from a 'Question: ... Context: ...' input): trained the causal LM"]
        return method, rows
    if not kept:
        raise DataError(f"method qa_span: no row is a span of its context ({span['span_rejected']}); an input "
                        "needs 'Question: ... Context: ...' and an answer copied from the context")
    report["notes"] = span.get("notes", [])
    return "qa_span", [{"input": e["input"], "output": e["output"]} for e in kept]


def run(cfg: TrainConfig) -> dict:
    """Train one model as configured; returns the result dict (also result.json)."""
    from tools.train.base_models import canonical_id, public_name, resolve_base

    cfg.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    store = open_store() if cfg.record_to_store and _is_main() else None
    result = {"run_id": cfg.run_id, "status": "failed", "model_path": None, "error": None}
    t0 = time.monotonic()
    try:
        method, train, val, labels, report = prepare(cfg)
        base = qa.resolve_qa_base(cfg.base_model) if method == "qa_span" else resolve_base(cfg.kind, cfg.base_model)
        if method == "qa_span" and cfg.base_model and canonical_id(base) != canonical_id(cfg.base_model) \
                and str(base) != cfg.base_model:  # said, not silent: the chosen model was not used
            report.setdefault("notes", []).append(f"base {public_name(cfg.base_model)} is not an encoder: "
                                                  f"the span head went on {public_name(base)}")
        result.update(method=method, base_model=str(base), base_model_id=canonical_id(base),
                      data=report, labels=labels)

        def attempt(bs: int) -> dict:
            from tools.train import causal, choose, encoder

            if method == "auto":
                return choose.fit_classifier(cfg, base, train, val, labels, bs, store)
            if method == "frozen_lr":
                return encoder.frozen_lr(cfg, base, train, val, labels, store)
            if method == "encoder_finetune":
                return encoder.finetune(cfg, base, train, val, labels, bs, store)
            if method == "qa_span":
                return qa.train_qa(cfg, base, train, val, bs, store)
            return causal.train_causal(cfg, base, train, val, bs, store, lora=method == "causal_lora")

        def retry(bs, e):
            # A smaller batch changes the data order, so old checkpoints are not reusable.
            shutil.rmtree(cfg.checkpoints_dir, ignore_errors=True)
            _progress_line(cfg, {"event": "oom_retry", "batch_size": bs, "error": str(e)[:200]})

        info, bs = with_batch_backoff(attempt, cfg.batch_size, retry)
        status = "completed" if info.get("stop_reason") != "time_budget" else "stopped_time_budget"
        # A trainer may lower the batch itself (causal: by tokens per batch): its number wins.
        result.update(status=status, model_path=str(cfg.model_dir), **{"batch_size": bs, **info})
        if _is_main():
            _note_training(cfg, result)
    except BudgetError as e:
        result.update(error=str(e), error_kind="budget")
    except DataError as e:
        result.update(error=str(e), error_kind="data")
    except OSError as e:
        if e.errno != errno.ENOSPC:
            result.update(error=f"{type(e).__name__}: {e}", error_kind="os")
        else:
            result.update(error=f"disk full while writing to {cfg.run_dir}: free some space or "
                          f"lower save_total_limit (now {cfg.save_total_limit}), then run again "
                          "to resume", error_kind="disk_full")
    except Exception as e:  # noqa: BLE001 - surfaced in result.json, not lost in a log
        result.update(error=f"{type(e).__name__}: {e}", error_kind="internal")
        import traceback

        traceback.print_exc()
    result["wall_seconds"] = round(time.monotonic() - t0, 2)
    result["hyperparameters"] = cfg.model_dump(include={"method", "epochs", "learning_rate", "batch_size",
                                                        "max_length", "max_steps", "seed", "lora_r",
                                                        "early_stopping_patience", "time_budget_minutes"})
    if _is_main():
        _write_result(cfg, result)
        record(store, "runs", {"id": cfg.run_id, "session_id": cfg.session_id,
                               "base_model": result.get("base_model"), "model_path": result["model_path"],
                               "hyperparameters": result["hyperparameters"], "status": result["status"],
                               "result": result})
    return result


def _note_training(cfg: TrainConfig, result: dict) -> None:
    """Add how the model was made (method, why, data notes) to its p2m_model.json: the
    model card and the evaluation read it from the folder."""
    from tools.train.predictor import FORMAT_FILE

    path = cfg.model_dir / FORMAT_FILE
    if not path.exists():
        return
    meta = json.loads(path.read_text())
    data = result.get("data") or {}
    notes = list(data.get("notes") or [])
    if result.get("inputs_truncated"):
        notes.append(f"{result['inputs_truncated']} training/validation input(s) longer than "
                     f"{result.get('max_length')} tokens (the 95th percentile) were truncated for training; "
                     f"predictions read up to {result.get('inference_max_length')} tokens")
    meta["training"] = {k: v for k, v in {
        "method": result.get("method"), "choice": result.get("choice"), "base_model_id": result.get("base_model_id"),
        "n_train": data.get("n_train"), "n_validation": data.get("n_validation"), "notes": notes,
        "precision": result.get("precision"), "learning_rate": result.get("learning_rate"),
        "epochs": result.get("epochs"), "train_seconds": round(result.get("train_seconds") or 0, 1),
        "stop_reason": result.get("stop_reason")}.items() if v not in (None, [], "")}
    path.write_text(json.dumps(meta, indent=1, ensure_ascii=False))


def _progress_line(cfg: TrainConfig, payload: dict) -> None:
    if _is_main():
        cfg.progress_path.parent.mkdir(parents=True, exist_ok=True)
        with cfg.progress_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"run_id": cfg.run_id, **payload}) + "\n")


def _write_result(cfg: TrainConfig, result: dict) -> None:
    try:
        tmp = cfg.result_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1, default=str))
        tmp.replace(cfg.result_path)
    except OSError as e:  # the disk may still be full: say so on stderr at least
        print(f"could not write {cfg.result_path}: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.train.worker", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="path of a run.json")
    cfg = TrainConfig.load(ap.parse_args(argv).config)
    result = run(cfg)
    _progress_line(cfg, {"event": "done", "status": result["status"], "error": result.get("error")})
    if result["status"] == "failed":
        print(f"training failed: {result['error']}", file=sys.stderr)
        return 3 if result.get("error_kind") == "disk_full" else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
