"""Shared Hugging Face Trainer setup: arguments, callbacks, device, saving."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from tools.train.callbacks import PatientEarlyStopping, ProgressCallback, TimeBudgetCallback
from tools.train.config import TrainConfig
from tools.train.predictor import FORMAT_FILE


def world_size() -> int:
    """Processes in this launch (1 unless under accelerate/torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def cpu_has_bf16() -> bool:
    """True when this CPU has bf16 matrix instructions (AVX512-BF16 or AMX)."""
    try:
        flags = open("/proc/cpuinfo", encoding="ascii", errors="ignore").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def use_bf16(precision: str = "auto") -> bool:
    """bf16 autocast or not: 'auto' takes it on a bf16 GPU or a CPU with bf16 instructions."""
    import torch

    if precision != "auto":
        return precision == "bf16"
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def device_flags(bf16: bool | None = None) -> dict:
    """CPU by default; CUDA when present. bf16 None: on a capable GPU only (fp32 on CPU)."""
    import torch

    if torch.cuda.is_available():
        return {"use_cpu": False, "bf16": torch.cuda.is_bf16_supported() if bf16 is None else bf16}
    return {"use_cpu": True, "bf16": bool(bf16)}


def set_threads() -> int:
    """Intra-op threads = the cores this process may use (a container may allow fewer than
    the machine has); inter-op 1. OMP_WAIT_POLICY=PASSIVE is set by the worker's env."""
    import torch

    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    n = max(1, n // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    torch.set_num_threads(n)
    return n


def training_args(cfg: TrainConfig, n_train: int, lr: float, batch_size: int,
                  metric: str, greater_is_better: bool, *, epochs: float | None = None,
                  total_steps: int | None = None, bf16: bool | None = None,
                  evals: int | None = None):
    """TrainingArguments with periodic eval+save, best-checkpoint selection.

    total_steps: a planned schedule length (budget.plan_steps) instead of epochs;
    evals: evaluate (and save) about this many times over it instead of twice per epoch."""
    from transformers import TrainingArguments

    epochs = epochs if epochs is not None else (cfg.epochs if cfg.epochs is not None else 3.0)
    max_steps = cfg.max_steps if cfg.max_steps > 0 else (total_steps or -1)
    steps_per_epoch = max(1, math.ceil(n_train / (batch_size * world_size())))
    total = max_steps if max_steps > 0 else math.ceil(steps_per_epoch * epochs)
    eval_steps = cfg.eval_steps or (max(5, math.ceil(total / evals)) if evals else
                                    max(5, steps_per_epoch // 2))  # evals cost real time on CPU
    eval_steps = min(eval_steps, max(1, total))
    return TrainingArguments(
        output_dir=str(cfg.checkpoints_dir),
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size * 2,
        num_train_epochs=epochs,
        max_steps=max_steps,
        learning_rate=lr,
        warmup_steps=int(0.06 * total),
        weight_decay=0.01,
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,  # must match eval steps for load_best_model_at_end
        save_total_limit=max(1, cfg.save_total_limit),
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        greater_is_better=greater_is_better,
        logging_steps=max(1, eval_steps // 4),
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        **device_flags(bf16),
    )


def callbacks(cfg: TrainConfig, store, metric: str | None):
    """Progress (JSONL + store), time budget, early stopping."""
    progress = ProgressCallback(cfg.progress_path, cfg.run_id, cfg.session_id, store, metric)
    budget = TimeBudgetCallback(cfg.time_budget_minutes)
    early = PatientEarlyStopping(early_stopping_patience=max(1, cfg.early_stopping_patience))
    return progress, budget, early


def last_checkpoint(cfg: TrainConfig) -> str | None:
    """The newest complete checkpoint folder, if a previous attempt left one."""
    from transformers.trainer_utils import get_last_checkpoint

    d = cfg.checkpoints_dir
    if not cfg.resume or not d.is_dir():
        return None
    return get_last_checkpoint(str(d))


def write_format(folder: Path, meta: dict) -> None:
    """The p2m_model.json that tells predictor.py how to run the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FORMAT_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False))


def stop_reason(trainer, budget: TimeBudgetCallback) -> str:
    """Why training ended: time budget, early stopping, or completed."""
    if budget.stopped:
        return "time_budget"
    st = trainer.state
    if st.max_steps and st.global_step < st.max_steps:
        return "early_stopped"
    return "completed"


def quiet(trainer) -> None:
    """Drop the stdout log printer: progress goes to progress.jsonl instead."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
