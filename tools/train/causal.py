"""Text-to-text students: a small causal LM (default SmolLM2-135M-Instruct).

Each row becomes prompt + output + EOS, where the prompt is the same chat
prompt predictor.py uses at inference; prompt tokens get label -100 so the loss
is on the answer only. LoRA (peft) is an option; adapters are merged before
saving so the exported folder is a plain transformers model.
"""

from __future__ import annotations

import time
from pathlib import Path

from tools.train import hf
from tools.train.config import TrainConfig, default_learning_rate
from tools.train.predictor import render_prompt


def encode_rows(tok, rows, instruction: str, max_length: int) -> tuple[list[dict], int]:
    """Tokenised rows with prompt tokens masked; returns (rows, dropped count).

    A row whose answer would be cut off entirely by max_length teaches nothing
    and is dropped (and counted).
    """
    out, dropped = [], 0
    eos = tok.eos_token or ""
    for r in rows:
        prompt = tok(render_prompt(tok, instruction, r["input"]), add_special_tokens=False)["input_ids"]
        answer = tok(r["output"] + eos, add_special_tokens=False)["input_ids"]
        ids = (prompt + answer)[:max_length]
        labels = ([-100] * len(prompt) + answer)[:max_length]
        if all(l == -100 for l in labels):
            dropped += 1
            continue
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    return out, dropped


TOKENS_PER_BATCH = 4096  # 32 rows at the 128-token floor, 8 at the 512 cap


def fit_max_length(tok, rows, instruction: str, floor: int, cap: int = 512) -> int:
    """Token length that holds 95% of the rows whole (prompt + answer), between floor and cap.

    A fixed 128 dropped most reading-comprehension rows, whose context alone is longer."""
    sample = rows[:: max(1, len(rows) // 400)]
    lengths = sorted(len(tok(render_prompt(tok, instruction, r["input"]) + r["output"],
                             add_special_tokens=False)["input_ids"]) + 1 for r in sample)
    p95 = lengths[int(0.95 * (len(lengths) - 1))] if lengths else floor
    return int(max(floor, min(cap, p95)))


def _max_new_tokens(tok, rows) -> int:
    """Room for the training outputs' p99 and a margin: a student that does not stop costs
    this many decode steps per example, so it is no larger than the data needs."""
    lengths = sorted(len(tok(r["output"], add_special_tokens=False)["input_ids"]) for r in rows)
    p99 = lengths[int(0.99 * (len(lengths) - 1))] if lengths else 32
    return int(min(256, max(16, p99 * 1.2 + 4)))


def stop_strings(rows) -> list[str]:
    """Strings generation stops at besides EOS: a newline when every training output is one
    line (one-line code, normalised dates), so a student that has not learnt EOS well still
    stops where its training answers always ended."""
    return ["\n"] if rows and all("\n" not in r["output"].strip() for r in rows) else []


def train_causal(cfg: TrainConfig, base: Path, train, val, batch_size: int, store,
                 lora: bool) -> dict:
    """Fine-tune (full or LoRA) with early stopping on validation loss."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
    )

    tok = AutoTokenizer.from_pretrained(base)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    method = "causal_lora" if lora else "causal_full"
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=cfg.lora_r, lora_alpha=2 * cfg.lora_r, lora_dropout=0.05, task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    lr = cfg.learning_rate or default_learning_rate(method)
    positions = getattr(model.config, "max_position_embeddings", 512) or 512
    max_length = fit_max_length(tok, train, cfg.instruction, min(cfg.max_length, positions),
                                cap=min(512, positions))
    # Memory grows with batch x length (the logits alone are batch x length x vocab floats):
    # 32 x 512 tokens of a 49k-vocab model needed 23 GB and was OOM-killed here.
    batch_size = max(1, min(batch_size, TOKENS_PER_BATCH // max_length))
    train_ds, dropped = encode_rows(tok, train, cfg.instruction, max_length)
    val_ds, _ = encode_rows(tok, val, cfg.instruction, max_length)
    if not train_ds:
        from tools.train.data import DataError

        raise DataError(f"every training row is longer than max_length={max_length} tokens "
                        "before its answer starts: raise max_length")
    args = hf.training_args(cfg, len(train_ds), lr, batch_size, "loss", False)
    progress, budget, early = hf.callbacks(cfg, store, None)
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds or train_ds[:8],
                      data_collator=DataCollatorForSeq2Seq(tok, label_pad_token_id=-100),
                      callbacks=[progress, budget, early])
    hf.quiet(trainer)
    t0 = time.monotonic()
    trainer.train(resume_from_checkpoint=hf.last_checkpoint(cfg))
    secs = time.monotonic() - t0
    final = trainer.evaluate()
    if trainer.is_world_process_zero():
        out = trainer.model.merge_and_unload() if lora else trainer.model
        out.save_pretrained(cfg.model_dir)
        tok.save_pretrained(cfg.model_dir)
        hf.write_format(cfg.model_dir, {"format": "causal-lm", "kind": cfg.kind,
                                        "instruction": cfg.instruction, "max_length": max_length,
                                        "max_new_tokens": _max_new_tokens(tok, train),
                                        "eos_token": tok.eos_token, "stop_strings": stop_strings(train)})
    progress.emit("end", trainer.state, eval_metric="loss", eval_value=final.get("eval_loss"))
    return {"learning_rate": lr, "batch_size": batch_size, "max_length": max_length,
            "train_seconds": secs, "global_step": trainer.state.global_step,
            "stop_reason": hf.stop_reason(trainer, budget), "rows_too_long_dropped": dropped,
            "validation": {"loss": final.get("eval_loss")}, "lora_r": cfg.lora_r if lora else None,
            "best_checkpoint": trainer.state.best_model_checkpoint}
