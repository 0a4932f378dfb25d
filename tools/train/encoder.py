"""Classification students over an encoder (default: packaged all-MiniLM-L6-v2).

Two methods: `encoder_finetune` (full fine-tune with a classification head via
HF Trainer) and `frozen_lr` (mean-pooled frozen embeddings + logistic regression,
saved as encoder + linear head so the export is still one deployable folder).

Both read token ids from one `Prepared` (tokenised once, max_length from the
data's p95), pad each batch to its own longest row, and run under bf16 autocast
where the hardware has it (`hf.use_bf16`). The fine-tune plans its schedule to
end inside its time budget (tools/train/budget.py).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from tools.train import budget as budgets
from tools.train import hf
from tools.train.callbacks import ReplanCallback
from tools.train.config import TrainConfig, default_epochs, default_learning_rate
from tools.train.tokens import TokenCache, model_max_positions, p95_length

FROZEN_SHARE = 0.08  # at most this share of the budget goes to embedding rows: the cheap candidate takes seconds
PLAN_FILE = "plan.json"  # the fine-tune's planned schedule, reused on resume


@dataclass
class Prepared:
    """Tokenised rows shared by both candidates."""

    tokenizer: object
    cache: TokenCache
    max_length: int  # training length: the training inputs' p95 (length-grouped batches pad to it at most)
    truncated: int  # training + validation inputs cut at max_length
    cap: int = 128  # inference length (p2m_model.json): test inputs may be longer than training's p95

    @classmethod
    def build(cls, base: Path, cfg: TrainConfig, train, val) -> Prepared:
        from transformers import AutoConfig, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(base)
        cap = min(cfg.max_length, model_max_positions(AutoConfig.from_pretrained(base)))
        cache = TokenCache(tok, hard_cap=model_max_positions(AutoConfig.from_pretrained(base)))
        texts = [r["input"] for r in train] + [r["input"] for r in val]
        max_length = p95_length(cache.lengths([r["input"] for r in train]), cap)
        return cls(tok, cache, max_length, cache.truncated(texts, max_length), cap)

    def rows(self, rows, label2id=None) -> list[dict]:
        enc = self.cache.encode([r["input"] for r in rows], self.max_length)
        if label2id is not None:
            for e, r in zip(enc, rows):
                e["labels"] = label2id[r["output"].strip()]
        return enc

    def report(self) -> dict:
        return {"max_length": self.max_length, "inputs_truncated": self.truncated,
                "inference_max_length": self.cap}


def _metrics(eval_pred):
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred
    pred = logits.argmax(-1)
    return {"accuracy": float(accuracy_score(labels, pred)),
            "macro_f1": float(f1_score(labels, pred, average="macro"))}


def _select_metric(cfg: TrainConfig) -> str:
    return cfg.metric if cfg.metric in ("accuracy", "macro_f1") else "accuracy"


def _plan(cfg: TrainConfig, model, collate, rows, batch_size: int, budget_s, epochs: float, bf16: bool) -> dict:
    """The schedule for this run; the one saved beside the checkpoints wins on resume."""
    path = cfg.path(PLAN_FILE)
    if hf.last_checkpoint(cfg) and path.exists():
        return json.loads(path.read_text())
    if budget_s is None:  # nothing to fit the schedule into: the epochs asked for
        return budgets.plan_steps(None, 0.0, len(rows), batch_size, epochs, hf.world_size())
    spr = budgets.seconds_per_row(model, collate, rows, batch_size, train=True, bf16=bf16)
    plan = budgets.plan_steps(budget_s, spr, len(rows), batch_size, epochs, hf.world_size())
    plan["seconds_per_row"] = round(spr, 5)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan))
    return plan


def finetune(cfg: TrainConfig, base: Path, train, val, labels, batch_size: int, store, *,
             out_dir: Path | None = None, budget_s: float | None = None, prep: Prepared | None = None) -> dict:
    """Full fine-tune with a classification head; saves the best checkpoint's model."""
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, Trainer

    out_dir = Path(out_dir or cfg.model_dir)
    budget_s = budget_s if budget_s is not None else (
        None if cfg.time_budget_minutes is None else cfg.time_budget_minutes * 60)
    hf.set_threads()
    prep = prep or Prepared.build(base, cfg, train, val)
    label2id = {l: i for i, l in enumerate(labels)}
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)
    hidden = getattr(model.config, "hidden_size", 384)
    epochs = cfg.epochs if cfg.epochs is not None else default_epochs("encoder_finetune", len(train))
    bf16 = hf.use_bf16(cfg.precision)
    train_ds, val_ds = prep.rows(train, label2id), prep.rows(val, label2id)
    collate = DataCollatorWithPadding(prep.tokenizer, return_tensors="pt")
    plan = _plan(cfg, model, collate, train_ds, batch_size, budget_s, epochs, bf16)
    lr = cfg.learning_rate or default_learning_rate("encoder_finetune", len(labels), len(train), hidden,
                                                    plan["epochs"])
    metric = _select_metric(cfg)
    args = hf.training_args(cfg, len(train_ds), lr, batch_size, metric, True, epochs=epochs,
                            total_steps=plan["steps"] if plan["budget_bound"] else None, bf16=bf16,
                            evals=6 if plan["budget_bound"] else None)
    progress, budget, early = hf.callbacks(cfg, store, metric)
    budget.budget_s = budget_s
    extra = []
    if budget_s is not None and cfg.max_steps <= 0:
        want = math.ceil(math.ceil(len(train_ds) / (batch_size * hf.world_size())) * epochs)
        extra.append(ReplanCallback(budget_s, want, every=max(10, plan["steps"] // 20), stop=budget))
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds,
                      data_collator=collate, compute_metrics=_metrics, processing_class=prep.tokenizer,
                      callbacks=[progress, budget, early, *extra])
    hf.quiet(trainer)
    t0 = time.monotonic()
    trainer.train(resume_from_checkpoint=hf.last_checkpoint(cfg))
    secs = time.monotonic() - t0
    final = _best_eval(trainer, metric) or trainer.evaluate()  # the best checkpoint is loaded by now
    if trainer.is_world_process_zero():
        trainer.save_model(str(out_dir))
        prep.tokenizer.save_pretrained(out_dir)
        hf.write_format(out_dir, {"format": "sequence-classification", "kind": cfg.kind,
                                  "labels": labels, "max_length": prep.cap,
                                  "train_max_length": prep.max_length, "instruction": cfg.instruction})
    progress.emit("end", trainer.state, eval_metric=metric, eval_value=final.get(f"eval_{metric}"))
    seen = trainer.state.global_step * batch_size * hf.world_size()
    return {"learning_rate": lr, "epochs": round(seen / max(1, len(train_ds)), 3), "train_seconds": secs,
            "global_step": trainer.state.global_step, "stop_reason": hf.stop_reason(trainer, budget),
            "precision": "bf16" if bf16 else "fp32", "plan": {**plan, "replans": extra[0].changes if extra else []},
            "rows_per_second": round(seen / secs, 1) if secs else None, **prep.report(),
            "validation": {"accuracy": final.get("eval_accuracy"), "macro_f1": final.get("eval_macro_f1")},
            "best_checkpoint": trainer.state.best_model_checkpoint}


def _best_eval(trainer, metric: str) -> dict | None:
    """The logged evaluation of the kept (best) checkpoint: no second pass over validation."""
    evals = [h for h in trainer.state.log_history if f"eval_{metric}" in h]
    return max(evals, key=lambda h: h[f"eval_{metric}"]) if evals else None


def _embed_ids(model, rows: list[dict], batch_size: int = 64, bf16: bool = False):
    """Mean-pooled, normalised embeddings of tokenised rows, batched by length (less padding)."""
    import torch

    from tools.train.predictor import mean_pool

    pad = _pad_id(model)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    out = [None] * len(rows)
    with torch.inference_mode(), torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            n = max(len(rows[j]["input_ids"]) for j in idx)
            ids = torch.tensor([rows[j]["input_ids"] + [pad] * (n - len(rows[j]["input_ids"])) for j in idx])
            mask = torch.tensor([[1] * len(rows[j]["input_ids"]) + [0] * (n - len(rows[j]["input_ids"]))
                                 for j in idx])
            emb = mean_pool(model(input_ids=ids, attention_mask=mask).last_hidden_state.float(), mask)
            for j, v in zip(idx, emb):
                out[j] = v
    return torch.stack(out).numpy() if out else torch.zeros(0).numpy()


def embed(model, tok, texts: list[str], max_length: int, batch_size: int = 64):
    """Mean-pooled, normalised fp32 embeddings of texts (the same maths as predictor.py)."""
    enc = tok(list(texts), truncation=True, max_length=max_length)
    rows = [{"input_ids": i} for i in enc["input_ids"]]
    return _embed_ids(model, rows, batch_size)


def _subsample(rows: list[dict], n: int, seed: int) -> list[dict]:
    """At most n rows, stratified by label (every label keeps at least a few rows)."""
    import random

    if len(rows) <= n:
        return rows
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["output"].strip(), []).append(r)
    rng = random.Random(seed)
    out = []
    for lab in sorted(by):
        group = by[lab][:]
        rng.shuffle(group)
        out += group[:max(5, round(len(group) * n / len(rows)))]
    return out


def frozen_lr(cfg: TrainConfig, base: Path, train, val, labels, store, *, out_dir: Path | None = None,
              budget_s: float | None = None, prep: Prepared | None = None) -> dict:
    """Logistic regression on frozen embeddings; C chosen on the validation slice.

    With a budget, only as many training rows are embedded as FROZEN_SHARE of it pays
    for (measured speed); the result says how many."""
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from transformers import AutoModel

    from tools.train.callbacks import ProgressCallback

    out = Path(out_dir or cfg.model_dir)
    hf.set_threads()
    progress = ProgressCallback(cfg.progress_path, cfg.run_id, cfg.session_id, store, "accuracy")
    progress.emit("start", None, method="frozen_lr")
    t0 = time.monotonic()
    prep = prep or Prepared.build(base, cfg, train, val)
    model = AutoModel.from_pretrained(base).eval()
    bf16 = hf.use_bf16(cfg.precision)
    used = train
    if budget_s is not None:
        enc = prep.rows(train[:256])
        spr = budgets.seconds_per_row(model, lambda b: _pad(b, _pad_id(model)), enc, 64, train=False,
                                      bf16=bf16)
        floor = budgets.MIN_CHEAP_ROWS
        budgets.check_cheap(budget_s, time.monotonic() - t0, spr, min(floor, len(train)) + len(val))
        used = _subsample(train, max(floor, int(FROZEN_SHARE * budget_s / max(spr, 1e-6))), cfg.seed)
    xtr = _embed_ids(model, prep.rows(used), bf16=bf16)
    xva = _embed_ids(model, prep.rows(val), bf16=bf16)
    ytr = np.array([labels.index(r["output"].strip()) for r in used])
    yva = np.array([labels.index(r["output"].strip()) for r in val])
    metric = _select_metric(cfg)
    best = None
    for c in (1.0, 4.0, 16.0):
        # Warm-started from the previous C: a few times faster than fitting each from scratch.
        prev = best[2] if best else None
        clf = LogisticRegression(C=c, max_iter=300, warm_start=True)
        if prev is not None:
            clf.coef_, clf.intercept_, clf.classes_ = prev.coef_.copy(), prev.intercept_.copy(), prev.classes_
        clf.fit(xtr, ytr)
        pred = clf.predict(xva)
        scores = {"accuracy": float((pred == yva).mean()),
                  "macro_f1": float(f1_score(yva, pred, average="macro"))}
        progress.emit("eval", None, eval_metric=metric, eval_value=scores[metric], C=c)
        if best is None or scores[metric] > best[0][metric]:
            best = (scores, c, clf)
    scores, c, clf = best
    # Classes without training rows get no LR row: give them a very low bias.
    weight = np.zeros((len(labels), xtr.shape[1]), dtype=np.float32)
    bias = np.full(len(labels), -1e4, dtype=np.float32)
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # sklearn stores one row for binary problems
        coef, intercept = np.vstack([-coef, coef]) / 2, np.array([-intercept[0], intercept[0]]) / 2
    for row, cls in enumerate(clf.classes_):
        weight[cls], bias[cls] = coef[row], intercept[row]
    model.save_pretrained(out)
    prep.tokenizer.save_pretrained(out)
    save_file({"weight": torch.from_numpy(weight), "bias": torch.from_numpy(bias)},
              str(out / "head.safetensors"))
    hf.write_format(out, {"format": "embedding-linear", "kind": cfg.kind, "labels": labels,
                          "max_length": prep.cap, "train_max_length": prep.max_length,
                          "instruction": cfg.instruction, "pooling": "mean+l2"})
    secs = time.monotonic() - t0
    progress.emit("end", None, eval_metric=metric, eval_value=scores[metric])
    return {"C": c, "train_seconds": secs, "global_step": 0, "stop_reason": "completed",
            "rows_embedded": len(used), "precision": "bf16" if bf16 else "fp32", **prep.report(),
            "validation": scores}


def _pad_id(model) -> int:
    return int(getattr(model.config, "pad_token_id", None) or 0)


def _pad(batch: list[dict], pad: int = 0) -> dict:
    import torch

    n = max(len(b["input_ids"]) for b in batch)
    return {"input_ids": torch.tensor([b["input_ids"] + [pad] * (n - len(b["input_ids"])) for b in batch]),
            "attention_mask": torch.tensor([[1] * len(b["input_ids"]) + [0] * (n - len(b["input_ids"]))
                                            for b in batch])}
