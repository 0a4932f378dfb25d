"""Classification students over an encoder (default: packaged all-MiniLM-L6-v2).

Two methods: `encoder_finetune` (full fine-tune with a classification head via
HF Trainer) and `frozen_lr` (mean-pooled frozen embeddings + logistic regression,
saved as encoder + linear head so the export is still one deployable folder).
"""

from __future__ import annotations

import time
from pathlib import Path

from tools.train import hf
from tools.train.config import TrainConfig, default_learning_rate


def _tokenize(tok, rows, label2id, max_length):
    enc = tok([r["input"] for r in rows], truncation=True, max_length=max_length)
    return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
             "labels": label2id[r["output"].strip()]} for i, r in enumerate(rows)]


def _metrics(eval_pred):
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred
    pred = logits.argmax(-1)
    return {"accuracy": float(accuracy_score(labels, pred)),
            "macro_f1": float(f1_score(labels, pred, average="macro"))}


def finetune(cfg: TrainConfig, base: Path, train, val, labels, batch_size: int, store) -> dict:
    """Full fine-tune with a classification head; saves the best checkpoint's model."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
    )

    label2id = {l: i for i, l in enumerate(labels)}
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)
    lr = cfg.learning_rate or default_learning_rate("encoder_finetune", len(labels))
    args = hf.training_args(cfg, len(train), lr, batch_size, "accuracy", True)
    progress, budget, early = hf.callbacks(cfg, store, "accuracy")
    trainer = Trainer(model=model, args=args, train_dataset=_tokenize(tok, train, label2id, cfg.max_length),
                      eval_dataset=_tokenize(tok, val, label2id, cfg.max_length),
                      data_collator=DataCollatorWithPadding(tok), compute_metrics=_metrics,
                      callbacks=[progress, budget, early])
    hf.quiet(trainer)
    t0 = time.monotonic()
    trainer.train(resume_from_checkpoint=hf.last_checkpoint(cfg))
    secs = time.monotonic() - t0
    final = trainer.evaluate()  # best model is loaded by now
    if trainer.is_world_process_zero():
        trainer.save_model(str(cfg.model_dir))
        tok.save_pretrained(cfg.model_dir)
        hf.write_format(cfg.model_dir, {"format": "sequence-classification", "kind": cfg.kind,
                                        "labels": labels, "max_length": cfg.max_length,
                                        "instruction": cfg.instruction})
    progress.emit("end", trainer.state, eval_metric="accuracy", eval_value=final.get("eval_accuracy"))
    return {"learning_rate": lr, "train_seconds": secs, "global_step": trainer.state.global_step,
            "stop_reason": hf.stop_reason(trainer, budget),
            "validation": {"accuracy": final.get("eval_accuracy"), "macro_f1": final.get("eval_macro_f1")},
            "best_checkpoint": trainer.state.best_model_checkpoint}


def embed(model, tok, texts: list[str], max_length: int, batch_size: int = 64):
    """Mean-pooled, normalised embeddings (the same maths as predictor.py)."""
    import torch

    from tools.train.predictor import mean_pool

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tok(texts[i:i + batch_size], padding=True, truncation=True,
                      max_length=max_length, return_tensors="pt")
            out.append(mean_pool(model(**enc).last_hidden_state, enc["attention_mask"]))
    return torch.cat(out).numpy()


def frozen_lr(cfg: TrainConfig, base: Path, train, val, labels, store) -> dict:
    """Logistic regression on frozen embeddings; C chosen on the validation slice."""
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModel, AutoTokenizer

    from tools.train.callbacks import ProgressCallback

    progress = ProgressCallback(cfg.progress_path, cfg.run_id, cfg.session_id, store, "accuracy")
    progress.emit("start", None)
    t0 = time.monotonic()
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModel.from_pretrained(base).eval()
    xtr = embed(model, tok, [r["input"] for r in train], cfg.max_length)
    xva = embed(model, tok, [r["input"] for r in val], cfg.max_length)
    ytr = np.array([labels.index(r["output"].strip()) for r in train])
    yva = np.array([labels.index(r["output"].strip()) for r in val])
    best = None
    for c in (0.5, 2.0, 8.0, 32.0):
        clf = LogisticRegression(C=c, max_iter=2000).fit(xtr, ytr)
        acc = float((clf.predict(xva) == yva).mean())
        progress.emit("eval", None, eval_metric="accuracy", eval_value=acc, C=c)
        if best is None or acc > best[0]:
            best = (acc, c, clf)
    acc, c, clf = best
    # Classes without training rows get no LR row: give them a very low bias.
    weight = np.zeros((len(labels), xtr.shape[1]), dtype=np.float32)
    bias = np.full(len(labels), -1e4, dtype=np.float32)
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # sklearn stores one row for binary problems
        coef, intercept = np.vstack([-coef, coef]) / 2, np.array([-intercept[0], intercept[0]]) / 2
    for row, cls in enumerate(clf.classes_):
        weight[cls], bias[cls] = coef[row], intercept[row]
    out = cfg.model_dir
    model.save_pretrained(out)
    tok.save_pretrained(out)
    save_file({"weight": torch.from_numpy(weight), "bias": torch.from_numpy(bias)},
              str(out / "head.safetensors"))
    hf.write_format(out, {"format": "embedding-linear", "kind": cfg.kind, "labels": labels,
                          "max_length": cfg.max_length, "instruction": cfg.instruction,
                          "pooling": "mean+l2"})
    secs = time.monotonic() - t0
    progress.emit("end", None, eval_metric="accuracy", eval_value=acc)
    return {"C": c, "train_seconds": secs, "global_step": 0, "stop_reason": "completed",
            "validation": {"accuracy": acc}}
