"""Extractive-QA student (`qa_span`): an encoder with a span head, for "answer with a span of the context".

The standard Hugging Face recipe (transformers' run_qa.py, the HF course's question
answering chapter): question + context windows of `max_length` tokens, the context
split with overlap `stride` (`return_overflowing_tokens`), and per window the start/end
token of the answer found from its char span through `return_offsets_mapping`
(a window that does not hold the whole answer points at [CLS]). Predictions take the
best start x end pair over all windows of an input (predictor.best_span), mapped back
to the context's characters; the same code runs in the export's predict.py.

Rows are checked first (`span_examples`): an input without a recognisable question and
context, or whose answer is not in its context, cannot teach a span and is rejected
with its reason, counted in the data report. Training reuses the encoder fine-tune's
machinery: HF Trainer, the budget-planned schedule, checkpoints and resume,
early stopping on validation F1.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path

from tools.train.config import TrainConfig, default_epochs, default_learning_rate
from tools.train.predictor import best_span, context_offsets, qa_windows, split_question_context

WINDOW = 384  # tokens per window (run_qa's default); fitted down to the data when its pairs are shorter
STRIDE = 128  # overlap between windows of one context (run_qa's doc_stride)
QUESTION_TOKENS = 64  # longer questions are cut: they would leave no room for the context
MAX_ANSWER_TOKENS = 30
SPAN_SHARE = 0.8  # "auto" picks qa_span when at least this share of rows are spans of their context
MIN_SPAN_ROWS = 8


def find_span(context: str, answer: str) -> int | None:
    """Char start of answer in context (exact, then case-insensitive), or None."""
    i = context.find(answer)
    if i < 0:
        i = context.lower().find(answer.lower())
    return i if i >= 0 else None


def span_examples(rows: list[dict]) -> tuple[list[dict], dict]:
    """Rows that can teach a span, as {question, context, answer, answer_start, input, output};
    and a report counting the rejected ones by reason (with a few of them shown)."""
    kept, why, shown = [], Counter(), []
    for r in rows:
        answer = r["output"].strip()
        parts = split_question_context(r["input"])
        if not answer:
            reason = "empty_answer"
        elif parts is None:
            reason = "no_context"  # no "Question: ... Context: ..." shape to read a span from
        elif (start := find_span(parts[1], answer)) is None:
            reason = "answer_not_in_context"
        else:
            kept.append({"question": parts[0], "context": parts[1], "answer": answer, "answer_start": start,
                         "input": r["input"], "output": r["output"]})
            continue
        why[reason] += 1
        if len(shown) < 3:
            shown.append({"input": r["input"][:120], "output": answer[:60], "reason": reason})
    report = {"span_rows": len(kept), "span_rejected": dict(why)}
    if why:
        report["span_rejected_examples"] = shown
        report["notes"] = [f"rejected {sum(why.values())} row(s) that cannot teach a span: " + ", ".join(
            f"{n} {k.replace('_', ' ')}" for k, n in why.most_common())]
    return kept, report


def is_span_shaped(report: dict) -> bool:
    """True when enough rows are answers copied from their context (the chooser's test)."""
    ok, bad = report["span_rows"], sum(report["span_rejected"].values())
    return ok >= MIN_SPAN_ROWS and ok >= SPAN_SHARE * (ok + bad)


def resolve_qa_base(base_model: str) -> Path:
    """The encoder to put a span head on: the given folder when it is an encoder, else the
    packaged MiniLM (the hub search picks causal or seq2seq models for extraction tasks)."""
    import json

    from tools.train.base_models import GGUF_PREFIX, minilm_path, resolve_base

    if not base_model or base_model.startswith(GGUF_PREFIX):
        return minilm_path()
    path = resolve_base("classification", base_model)
    cfg = json.loads((path / "config.json").read_text()) if (path / "config.json").exists() else {}
    encoder_heads = ("Model", "ForMaskedLM", "ForQuestionAnswering", "ForSequenceClassification",
                     "ForTokenClassification", "ForPreTraining")
    archs = cfg.get("architectures") or []
    if (cfg.get("is_decoder") or cfg.get("is_encoder_decoder")
            or not all(a.endswith(encoder_heads) and not a.endswith("LMHeadModel") for a in archs)):
        return minilm_path()
    return path


def window_size(tok, examples: list[dict], cap: int) -> int:
    """Tokens per window: the p95 of question + context pairs, at most cap, at least 64."""
    sample = examples[:: max(1, len(examples) // 400)]
    lengths = sorted(len(tok(e["question"], e["context"])["input_ids"]) for e in sample)
    p95 = lengths[int(0.95 * (len(lengths) - 1))] if lengths else cap
    return int(max(min(64, cap), min(cap, p95)))


def geometry(max_length: int) -> tuple[int, int]:
    """(stride, question tokens) that always leave room for some context in a window."""
    q = min(QUESTION_TOKENS, max_length // 3)
    return max(0, min(STRIDE, (max_length - q - 3) // 2)), q


def encode(tok, examples: list[dict], max_length: int, stride: int, question_tokens: int,
           labels: bool = True) -> tuple[list[dict], list[int], list[list]]:
    """Windows of the examples: (features, example index per window, context offsets per window).

    With labels, each feature gets start_positions/end_positions: the tokens of the answer's
    char span, or 0 ([CLS]) when this window does not hold all of it."""
    enc = qa_windows(tok, [e["question"] for e in examples], [e["context"] for e in examples],
                     max_length, stride, question_tokens)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    feats, owners, offsets = [], [], []
    for i, ex in enumerate(enc["overflow_to_sample_mapping"]):
        f = {k: enc[k][i] for k in keys}
        offs = context_offsets(enc, i)
        if labels:
            f["start_positions"], f["end_positions"] = label_window(offs, examples[ex])
        feats.append(f)
        owners.append(ex)
        offsets.append(offs)
    return feats, owners, offsets


def label_window(offsets: list, example: dict) -> tuple[int, int]:
    """(start token, end token) of the example's answer in one window; (0, 0) when it is not whole there."""
    a0 = example["answer_start"]
    a1 = a0 + len(example["answer"])
    ctx = [k for k, o in enumerate(offsets) if o is not None]
    if not ctx or offsets[ctx[0]][0] > a0 or offsets[ctx[-1]][1] < a1:
        return 0, 0
    s = next(k for k in ctx if offsets[k][1] > a0)
    e = next(k for k in reversed(ctx) if offsets[k][0] < a1)
    return s, e


def spans_from_logits(start_logits, end_logits, owners: list[int], offsets: list[list], examples: list[dict],
                      max_answer_tokens: int = MAX_ANSWER_TOKENS) -> list[str]:
    """Best answer text per example over its windows (windows of one example may be anywhere)."""
    best: dict[int, tuple] = {}
    for i, ex in enumerate(owners):
        cand = best_span(start_logits[i], end_logits[i], offsets[i], max_answer_tokens=max_answer_tokens)
        if cand and (ex not in best or cand[0] > best[ex][0]):
            best[ex] = cand
    return [examples[j]["context"][best[j][1]:best[j][2]].strip() if j in best else ""
            for j in range(len(examples))]


def span_scores(preds: list[str], examples: list[dict]) -> dict:
    """SQuAD exact match and token F1 (tools.evaluate.metrics) of predictions against the examples' answers."""
    from tools.evaluate.metrics import exact_match, token_f1

    n = max(1, len(examples))
    return {"exact_match": sum(exact_match(p, e["answer"]) for p, e in zip(preds, examples)) / n,
            "f1": sum(token_f1(p, e["answer"]) for p, e in zip(preds, examples)) / n}


def train_qa(cfg: TrainConfig, base: Path, train: list[dict], val: list[dict], batch_size: int, store, *,
             budget_s: float | None = None) -> dict:
    """Fine-tune base with a fresh span head on span-shaped rows; the best checkpoint by validation F1
    is saved to cfg.model_dir as a `question-answering` folder."""
    from transformers import AutoConfig, AutoModelForQuestionAnswering, AutoTokenizer, DataCollatorWithPadding, Trainer

    from tools.train import encoder, hf
    from tools.train.callbacks import ReplanCallback
    from tools.train.data import DataError
    from tools.train.tokens import model_max_positions

    budget_s = budget_s if budget_s is not None else (
        None if cfg.time_budget_minutes is None else cfg.time_budget_minutes * 60)
    hf.set_threads()
    tr, report = span_examples(train)
    va, _ = span_examples(val)
    if not tr:
        raise DataError(f"no training row is a span of its context ({report['span_rejected']}): an input needs "
                        "'Question: ... Context: ...' and an answer copied from the context")
    va = va or tr[:8]
    tok = AutoTokenizer.from_pretrained(base)
    cap = min(WINDOW, model_max_positions(AutoConfig.from_pretrained(base)))
    max_length = window_size(tok, tr, cap)
    stride, q_tokens = geometry(max_length)
    train_ds, _, _ = encode(tok, tr, max_length, stride, q_tokens)
    val_ds, owners, offsets = encode(tok, va, max_length, stride, q_tokens)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    hidden = getattr(model.config, "hidden_size", 384)
    epochs = cfg.epochs if cfg.epochs is not None else default_epochs("qa_span", len(tr))
    bf16 = hf.use_bf16(cfg.precision)
    collate = DataCollatorWithPadding(tok, return_tensors="pt")
    plan = encoder._plan(cfg, model, collate, train_ds, batch_size, budget_s, epochs, bf16)
    lr = cfg.learning_rate or default_learning_rate("qa_span", 0, len(tr), hidden, plan["epochs"])

    def metrics(eval_pred):
        start, end = eval_pred.predictions[:2]
        return span_scores(spans_from_logits(start, end, owners, offsets, va), va)

    args = hf.training_args(cfg, len(train_ds), lr, batch_size, "f1", True, epochs=epochs,
                            total_steps=plan["steps"] if plan["budget_bound"] else None, bf16=bf16,
                            evals=6 if plan["budget_bound"] else None)
    progress, budget, early = hf.callbacks(cfg, store, "f1")
    budget.budget_s = budget_s
    extra = []
    if budget_s is not None and cfg.max_steps <= 0:
        want = math.ceil(math.ceil(len(train_ds) / (batch_size * hf.world_size())) * epochs)
        extra.append(ReplanCallback(budget_s, want, every=max(10, plan["steps"] // 20), stop=budget))
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, data_collator=collate,
                      compute_metrics=metrics, processing_class=tok, callbacks=[progress, budget, early, *extra])
    hf.quiet(trainer)
    t0 = time.monotonic()
    trainer.train(resume_from_checkpoint=hf.last_checkpoint(cfg))
    secs = time.monotonic() - t0
    final = encoder._best_eval(trainer, "f1") or trainer.evaluate()
    if trainer.is_world_process_zero():
        trainer.save_model(str(cfg.model_dir))
        tok.save_pretrained(cfg.model_dir)
        hf.write_format(cfg.model_dir, {"format": "question-answering", "kind": cfg.kind, "max_length": cap,
                                        "train_max_length": max_length, "stride": geometry(cap)[0],
                                        "question_tokens": geometry(cap)[1], "max_answer_tokens": MAX_ANSWER_TOKENS,
                                        "instruction": cfg.instruction})
    progress.emit("end", trainer.state, eval_metric="f1", eval_value=final.get("eval_f1"))
    seen = trainer.state.global_step * batch_size * hf.world_size()
    return {"learning_rate": lr, "epochs": round(seen / max(1, len(train_ds)), 3), "train_seconds": secs,
            "global_step": trainer.state.global_step, "stop_reason": hf.stop_reason(trainer, budget),
            "precision": "bf16" if bf16 else "fp32", "plan": {**plan, "replans": extra[0].changes if extra else []},
            "max_length": max_length, "stride": stride, "windows_train": len(train_ds),
            "windows_validation": len(val_ds),
            "inference_max_length": cap, "rows_per_second": round(seen / secs, 1) if secs else None,
            "validation": {"exact_match": final.get("eval_exact_match"), "f1": final.get("eval_f1")},
            "best_checkpoint": trainer.state.best_model_checkpoint}
