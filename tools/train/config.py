"""The run recipe (`run.json`) a training worker reads, and how a method is chosen.

Defaults are measured on a 2-core CPU (see FACTS.md): a full MiniLM fine-tune at
lr 5e-5 for 3 epochs reached TREC 0.962; with many labels 5e-5 under-trains and
about 2e-4 works; frozen embeddings + logistic regression is the cheap option
that is hard to beat on tiny data. SmolLM2 LoRA needs a learning rate near 1e-3.

Classification with method "auto" fits both encoder candidates in one budget
(frozen embeddings + logistic regression first, then the fine-tune with what is
left) and keeps the one that wins on validation (tools/train/choose.py).
Extraction with method "auto" trains `qa_span` (an encoder with a span head,
tools/train/qa.py) when the rows are answers copied from their input's context,
else the causal LM.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Method = Literal["auto", "encoder_finetune", "frozen_lr", "causal_full", "causal_lora", "qa_span"]
Precision = Literal["auto", "fp32", "bf16"]

# Below this many training rows a full fine-tune of the encoder is noisy and no
# better than a linear probe on frozen embeddings.
SMALL_DATA_ROWS = 100
MANY_LABELS = 10


class TrainConfig(BaseModel):
    """Everything one training run needs; written to `run_dir/run.json`."""

    run_id: str
    run_dir: str = Field(description="checkpoints, progress.jsonl, result.json, model/")
    kind: Literal["classification", "extraction", "generation"] = "classification"
    method: Method = "auto"
    base_model: str = Field(default="", description="local folder or a packaged 'gguf:' location "
                                                    "(base_models.resolve_base); empty: the packaged default")
    train_path: str = Field(description="JSONL rows with input, output")
    validation_path: str | None = Field(default=None, description="JSONL; None: carve from train")
    labels: list[str] = Field(default_factory=list, description="classification label set")
    instruction: str = Field(default="", description="the task, used in the causal prompt")
    epochs: float | None = Field(default=None, description="None: by data size (default_epochs)")
    learning_rate: float | None = Field(default=None, description="None: by method, labels, data size")
    batch_size: int = 32
    max_length: int = Field(default=128, description="encoders: token cap (the data's p95 below it is "
                            "used); causal LMs: the floor of the fitted length")
    precision: Precision = Field(default="auto", description="auto: bf16 autocast where the CPU has "
                                 "bf16 instructions (or a bf16 GPU), else fp32")
    group_by_length: bool = Field(default=True, description="batches of similar length (less padding)")
    metric: str = Field(default="accuracy", description="validation metric that picks the classifier")
    max_steps: int = -1
    eval_steps: int | None = Field(default=None, description="None: two evaluations per epoch")
    save_total_limit: int = 2
    early_stopping_patience: int = 3
    time_budget_minutes: float | None = None
    validation_fraction: float = 0.1
    max_validation_rows: int = 500
    seed: int = 42
    lora_r: int = 8
    session_id: str | None = None
    record_to_store: bool = True
    resume: bool = True

    def path(self, name: str) -> Path:
        """A file inside the run directory."""
        return Path(self.run_dir) / name

    @property
    def checkpoints_dir(self) -> Path:
        return self.path("checkpoints")

    @property
    def model_dir(self) -> Path:
        return self.path("model")

    @property
    def progress_path(self) -> Path:
        return self.path("progress.jsonl")

    @property
    def result_path(self) -> Path:
        return self.path("result.json")

    def save(self) -> Path:
        """Write run.json and return its path."""
        p = self.path("run.json")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.model_dump_json(indent=1))
        return p

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a run.json, with a clear message when it is not one."""
        try:
            return cls.model_validate(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise SystemExit(f"run config not found: {path}")
        except (ValueError, json.JSONDecodeError) as e:
            raise SystemExit(f"run config {path} is not valid: {e}")


def choose_method(kind: str, n_train: int, n_labels: int = 0, span_shaped: bool = False) -> str:
    """The default trainer for a task kind and data size.

    classification: full encoder fine-tune (reaches TREC >= 0.95 in minutes)
    unless the data is tiny, where a linear probe on frozen embeddings is steadier.
    extraction whose rows are spans of their context (qa.is_span_shaped): an encoder
    with a span head. Other text-to-text: full fine-tune of the small causal LM
    (LoRA is the option).
    """
    if kind == "classification":
        return "frozen_lr" if n_train < SMALL_DATA_ROWS else "encoder_finetune"
    if kind == "extraction" and span_shaped:
        return "qa_span"
    return "causal_full"


def default_epochs(method: str, n_train: int) -> float:
    """Epochs by data size: small sets need many passes (early stopping ends them), large
    ones get what the time budget pays for (the schedule is planned to end inside it)."""
    if method == "qa_span":  # windows of long contexts: each pass costs more than a classifier's
        return 6.0 if n_train < 1000 else (3.0 if n_train < 5000 else 2.0)
    if method == "encoder_finetune":
        if n_train < 1000:
            return 10.0
        if n_train < 5000:
            return 4.0
        return 3.0
    return 3.0


def default_learning_rate(method: str, n_labels: int = 0, n_train: int = 0,
                          hidden_size: int = 384, epochs: float | None = None) -> float:
    """Learning rate by method, label count and data size (module docstring: where from).

    Encoders: many labels need about 2e-4 (5e-5 under-trains them); small sets, and
    large ones of which the budget pays for less than one pass (`epochs` < 1), take few
    steps and get 1e-4; base-size encoders (hidden >= 768) half of that."""
    if method == "qa_span":  # a fresh span head on a small encoder: the encoder's rates, fewer labels to learn
        method = "encoder_finetune"
    if method == "encoder_finetune":
        few_steps = 0 < n_train < 1000 or (epochs is not None and epochs < 1)
        lr = 2e-4 if n_labels > MANY_LABELS else (1e-4 if few_steps else 5e-5)
        return lr / 2 if hidden_size >= 768 else lr
    if method == "causal_lora":
        return 1e-3
    if method == "causal_full":
        return 5e-5
    return 0.0
