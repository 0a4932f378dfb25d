"""The three systems compared on one held-out split: student, teacher, base.

Each system is `predict(texts) -> list[str | None]` plus a name, a parameter
count and a measured latency. None means the output could not be used (an
unparseable teacher reply or a failed call) and is counted wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tools.contracts import TaskSpec
from tools.evaluate.prompts import answer_schema, parse_label, teacher_messages
from tools.llm.errors import LLMError, StructuredOutputError



@dataclass
class System:
    """A predictor with its identity; latency_ms is filled by `timed_predict`."""

    role: str
    name: str
    predict: Callable[[list[str]], list[str | None]]
    params_m: float | None = None
    notes: list[str] = field(default_factory=list)
    latency_ms: float | None = None
    unparseable: int = 0
    errors: int = 0
    """Calls that failed outright (no reply): a teacher with only errors is unavailable."""
    call_ms: list[float] = field(default_factory=list)
    """Per-request latencies, when the system measures them itself (concurrent calls)."""


def timed_predict(system: System, texts: list[str], one_by_one: int = 0) -> list[str | None]:
    """Predict all texts; latency is per example, measured one at a time on the
    first `one_by_one` inputs when given (what a single request costs), else
    wall time over the batch."""
    if one_by_one:
        t = time.perf_counter()
        for x in texts[:one_by_one]:
            system.predict([x])
        system.latency_ms = (time.perf_counter() - t) * 1000 / min(one_by_one, len(texts))
    t = time.perf_counter()
    preds = system.predict(texts)
    if system.call_ms:  # requests ran concurrently: a request's own latency is the honest figure
        system.latency_ms = sum(system.call_ms) / len(system.call_ms)
    elif not one_by_one:
        system.latency_ms = (time.perf_counter() - t) * 1000 / max(1, len(texts))
    return preds


def student(model_path: str | Path) -> System:
    """The trained model, run through predictor.py (the exported code path)."""
    from tools.train.predictor import Predictor

    p = Predictor(model_path)
    return System("student", str(model_path), p.predict, params_m=p.num_parameters / 1e6)


def teacher(client, spec: TaskSpec, max_tokens: int = 64, concurrency: int = 4) -> System:
    """The teacher LLM with the spec's few-shot prompt.

    For classification the reply is constrained to the label set (an enum schema), so the
    teacher's row measures what it knows, not whether it formats a label; other kinds
    answer in free text. `latency_ms` is the mean latency of one request.
    """
    sys_ = System("teacher", getattr(client, "model_name", "teacher"), lambda t: [],
                  params_m=teacher_params_m(client))
    schema = answer_schema(spec) if spec.kind == "classification" else None

    def one(text: str) -> str | None | LLMError:
        t = time.perf_counter()
        try:
            if schema is not None:
                return str(client.structured(teacher_messages(spec, text), schema,
                                             purpose="teacher_eval", max_tokens=24, retries=0).output)
            return client.chat(teacher_messages(spec, text), purpose="teacher_eval",
                               max_tokens=max_tokens).strip()
        except StructuredOutputError:
            return None  # answered, but not with a label: counted wrong and unparseable
        except LLMError as e:
            return e
        finally:
            sys_.call_ms.append((time.perf_counter() - t) * 1000)

    def predict(texts: list[str]) -> list[str | None]:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            replies = list(pool.map(one, texts))
        out: list[str | None] = []
        for r in replies:
            if isinstance(r, LLMError):
                sys_.errors += 1
                out.append(None)
            elif r is None:
                sys_.unparseable += 1
                out.append(None)
            else:
                out.append(parse_label(r, spec.labels) if spec.kind == "classification" else r)
        return out

    sys_.predict = predict
    return sys_


def teacher_params_m(client) -> float | None:
    """Parameters of the teacher, in millions: known for the embedded models, else None."""
    if not getattr(client, "is_embedded", False):
        return None
    from tools.llm.embedded_models import MODELS

    model = MODELS.get(str(getattr(client, "model_name", "")).lower())
    return model.params_m if model else None


def zero_shot_embedding(encoder_path: str | Path, labels: list[str], max_length: int = 128) -> System:
    """Untuned encoder baseline: each input gets the label whose name embeds closest.

    This is what the encoder knows before any training on the task: honest, weak.
    """
    from transformers import AutoModel, AutoTokenizer

    from tools.train.encoder import embed

    tok = AutoTokenizer.from_pretrained(encoder_path)
    model = AutoModel.from_pretrained(encoder_path).eval()
    lab = embed(model, tok, [l.replace("_", " ") for l in labels], max_length)

    def predict(texts: list[str]) -> list[str | None]:
        sims = embed(model, tok, texts, max_length) @ lab.T
        return [labels[i] for i in sims.argmax(1)]

    params = sum(p.numel() for p in model.parameters()) / 1e6
    return System("base", f"{_model_name(encoder_path)} (zero-shot label-name similarity, untuned)",
                  predict, params_m=params)


def untuned_causal(base_path: str | Path, instruction: str, max_new_tokens: int = 64,
                   max_length: int = 512) -> System:
    """The untuned causal base model with the student's own prompt."""
    from tools.train.predictor import Predictor

    p = Predictor(base_path, meta={"format": "causal-lm", "instruction": instruction,
                                   "max_length": max_length, "max_new_tokens": max_new_tokens})
    return System("base", f"{_model_name(base_path)} (untuned, same prompt)", p.predict,
                  params_m=p.num_parameters / 1e6)


def _model_name(path: str | Path) -> str:
    """A readable name for a model folder (the packaged MiniLM lives in '.../model')."""
    from tools.train.base_models import MINILM_NAME, minilm_path

    try:
        if Path(path).resolve() == minilm_path().resolve():
            return MINILM_NAME
    except RuntimeError:
        pass
    return Path(path).name
