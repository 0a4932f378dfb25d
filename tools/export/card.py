"""The model card (README.md of an export): Hub metadata, use, data, numbers, limits, how to run.

The YAML header is what the Hub reads: `base_model` (a canonical Hub id, never a
local path), `datasets`, `license`, `pipeline_tag` and a `model-index` with the
measured metrics and the evaluation set they come from.
"""

from __future__ import annotations

import re
from collections import Counter

from tools.contracts import RunResult, TaskSpec

PIPELINE_TAGS = {"sequence-classification": "text-classification", "embedding-linear": "text-classification",
                 "causal-lm": "text-generation", "question-answering": "question-answering"}
REPORTED = ("accuracy", "macro_f1", "exact_match", "f1", "token_f1", "chrf")  # metrics that go into the model-index


def provenance_counts(examples) -> dict[str, int]:
    """Training rows by source: 'retrieved:<dataset>@<config>', 'synthetic:<round>', 'user'."""
    counts: Counter = Counter()
    for e in examples:
        src = (e.get("source") if isinstance(e, dict) else getattr(e, "source", None)) or "unknown"
        counts[src.split("/")[0] if src.startswith("retrieved:") else src] += 1
    return dict(counts.most_common())


def datasets_from(provenance: dict[str, int]) -> list[str]:
    """Dataset ids of the retrieved training rows ('retrieved:trec@default' -> 'trec')."""
    out = []
    for src in provenance:
        if src.startswith("retrieved:"):
            ds = src[len("retrieved:"):].split("@")[0]
            if ds and ds not in out:
                out.append(ds)
    return out


def eval_dataset(eval_source: str) -> tuple[str, str]:
    """(dataset id, split) named in an evaluation source such as 'the real test split of trec (500 rows)'."""
    m = re.search(r"test split of (\S+)", eval_source or "")
    return (m.group(1), "test") if m else ("custom", "held-out")


def _fmt(mv) -> str:
    if mv.low is None or mv.high is None:
        return f"{mv.value:.3f}"
    return f"{mv.value:.3f} ({mv.low:.3f}-{mv.high:.3f})"


def _system_name(s, name: str) -> str:
    return name if s.system == "student" else s.name


def metrics_table(result: RunResult, name: str = "this model") -> str:
    """Markdown table of the student / teacher / base rows with 95% intervals."""
    names = [m for m in result.scores[0].metrics if "[" not in m] if result.scores else []
    head = "| system | model | n | " + " | ".join(names) + " | latency ms/example | params (M) |"
    sep = "|" + "---|" * (len(names) + 5)
    rows = [head, sep]
    for s in result.scores:
        cells = [_fmt(s.metrics[m]) if m in s.metrics else "-" for m in names]
        rows.append(f"| {s.system} | {_system_name(s, name)} | {s.n} | " + " | ".join(cells) +
                    f" | {s.latency_ms if s.latency_ms is not None else '-'} | {s.params_m or '-'} |")
    return "\n".join(rows)


def card_metadata(name: str, spec: TaskSpec, meta: dict, result: RunResult | None,
                  provenance: dict[str, int], eval_source: str, license: str | None) -> str:
    """The YAML header (without the --- fences)."""
    from huggingface_hub import EvalResult, ModelCardData

    training = meta.get("training") or {}
    task = PIPELINE_TAGS.get(meta.get("format"), "question-answering" if spec.kind == "extraction"
                             else "text-generation")
    ds_id, split = eval_dataset(eval_source)
    student = next((s for s in (result.scores if result else []) if s.system == "student"), None)
    evals = [EvalResult(task_type=task, dataset_type=ds_id, dataset_name=eval_source or ds_id,
                        dataset_split=split, metric_type=m, metric_value=round(mv.value, 4), metric_name=m)
             for m, mv in (student.metrics.items() if student else []) if m in REPORTED]
    datasets = datasets_from(provenance) + ([ds_id] if ds_id != "custom" else [])
    data = ModelCardData(base_model=training.get("base_model_id"), datasets=list(dict.fromkeys(datasets)) or None,
                         license=license or "other", pipeline_tag=task, library_name="transformers",
                         tags=["p2m", spec.kind], model_name=name, eval_results=evals or None)
    return data.to_yaml()


def _outputs(spec: TaskSpec) -> str:
    if spec.kind == "classification" and spec.labels:
        return f"one label, one of: {', '.join(spec.labels)} (a string)"
    return spec.output_format


def _serving(meta: dict, result: RunResult | None) -> str:
    check = (meta.get("runtime") or {}).get("check") or {}
    if not check:
        return ""
    chosen = (meta.get("runtime") or {}).get("chosen", "pytorch")
    lines = ["## Serving speed", "",
             f"Measured at export, one example at a time on the build machine, over {check.get('rows')} "
             f"{'labelled evaluation' if check.get('labelled') else 'sample'} rows. predict.py runs "
             f"**{chosen}** (the fastest copy that passed the check: accuracy within 0.5 points of PyTorch).", "",
             "| copy | file | ms/example | accuracy | agrees with PyTorch | passed |", "|---|---|---|---|---|---|"]
    for n in ("pytorch", "onnx", "int8"):
        r = check.get(n)
        if r:
            lines.append(f"| {n} | {r.get('file', 'model.safetensors')} | {r['ms_per_example']} | "
                         f"{r.get('accuracy', '-')} | {r.get('agreement_with_pytorch', 1.0)} | "
                         f"{'yes' if r.get('passed') else 'no'} |")
    teacher = next((s for s in (result.scores if result else []) if s.system == "teacher"), None)
    if teacher and teacher.latency_ms:
        lines.append(f"| teacher | {teacher.name} | {teacher.latency_ms} | - | - | - |")
    if check.get("onnx_error"):
        lines.append(f"\nONNX export failed ({check['onnx_error']}); the PyTorch weights serve.")
    return "\n".join(lines) + "\n"


def _synthetic_limit(source: str) -> str:
    from tools.evaluate.checks import SYNTHETIC_WARNING

    return f"\n- {SYNTHETIC_WARNING}" if "synthetic" in source.lower() else ""


def model_card(name: str, spec: TaskSpec, meta: dict, result: RunResult | None,
               provenance: dict[str, int], verified: str = "", eval_source: str = "",
               license: str | None = None) -> str:
    """Markdown model card text."""
    kind = spec.kind
    training = meta.get("training") or {}
    labels = f"\nLabels: {', '.join(spec.labels)}.\n" if spec.labels else ""
    data = "\n".join(f"| {src} | {n} |" for src, n in provenance.items()) or "| (not recorded) | - |"
    notes = "".join(f"\n- {n}" for n in training.get("notes") or [])
    numbers = metrics_table(result, name) if result and result.scores else "_No evaluation recorded._"
    teacher = next((s for s in (result.scores if result else []) if s.system == "teacher"), None)
    base = next((s for s in (result.scores if result else []) if s.system == "base"), None)
    base_id = training.get("base_model_id") or "a local base model"
    how = f"`{training.get('method', meta.get('method', 'fine-tuned'))}` from `{base_id}`"
    if training.get("choice"):
        how += f"; {training['choice']}"
    fails = ""
    if result and result.failures:
        fails = "\nMost frequent error groups on the evaluation set:\n\n" + "\n".join(
            f"- {g['name']}: {g['count']}" for g in result.failures[:5]) + "\n"
    source = eval_source or "a held-out split"
    onnx = (meta.get("runtime") or {}).get("onnx")
    return f"""---
{card_metadata(name, spec, meta, result, provenance, eval_source, license).strip()}
---

# {name}

{spec.instruction.strip()}
{labels}
Built by p2m (after Prompt2Model) as a `{meta.get('format')}` model: {how}.

## Intended use

Inputs: {spec.input_format} (one string per example). Outputs: {_outputs(spec)}. Use it for this task
only, on text like its training data (language: {spec.constraints.language}). Check its outputs before
acting on them where mistakes are costly.

## Training data (rows by source)

| source | rows |
|---|---|
{data}
{notes}

## Evaluation: {source} (95% bootstrap intervals)

{numbers}

The numbers above were measured once, on rows that no choice was made on: rounds and
hyperparameters were compared on separate validation rows.

- **student**: this model. **teacher**: {teacher.name if teacher else 'not evaluated'}, prompted with
  the task's few-shot prompt{' (n=' + str(teacher.n) + ' rows)' if teacher else ''}.
  **base**: {base.name if base else 'not evaluated'}.
- Latency is measured on the build machine (CPU unless it had a GPU), one example at a time for the student.
{fails}
{_serving(meta, result)}
## Limits

- Numbers come from one evaluation set ({source}); intervals show sampling noise only, not a shift in data.{_synthetic_limit(source)}
- Training data is partly retrieved from public datasets and/or generated by an LLM teacher:
  their licenses and biases carry over (the license above is the base model's). See the sources above.
- {_limit(kind, meta)}

## How to run

```bash
pip install torch transformers safetensors{' onnxruntime' if onnx else ''}
python predict.py "your input text"
python predict.py --file inputs.txt     # one input per line, JSON lines out
pip install gradio && python demo.py    # browser demo on 127.0.0.1
```

```python
from predict import load
model = load(".")
model.predict(["your input text"])
```
{_pipeline_hint(meta)}{verified}"""


def _limit(kind: str, meta: dict) -> str:
    if kind == "classification":
        return "Only the labels listed above can be predicted."
    if meta.get("format") == "question-answering":
        return ("Answers are always a span copied from the context (at most "
                f"{meta.get('max_answer_tokens', 30)} tokens): a question the context does not answer still "
                "gets a span, and an input without 'Context:' is searched whole.")
    return "Generated text can be fluent and wrong; long outputs may repeat."


def _pipeline_hint(meta: dict) -> str:
    if meta.get("format") == "sequence-classification":
        return ('\nWith transformers alone: `pipeline("text-classification", model=".")` loads this folder '
                "(the PyTorch weights).\n")
    if meta.get("format") == "question-answering":
        return ('\nWith transformers alone: `AutoModelForQuestionAnswering.from_pretrained(".")` loads this '
                'folder; with transformers 4.x, `pipeline("question-answering", model=".")(question=..., '
                'context=...)` also does (transformers 5 removed that pipeline). predict.py takes one string, '
                '"Question: ... Context: ...".\n')
    if meta.get("format") == "embedding-linear":
        return ('\nWith transformers alone: `pipeline("feature-extraction", model=".")` gives the encoder\'s '
                "token vectors; the label head (mean pooling, L2 norm, `head.safetensors`) is in predict.py.\n")
    return ""
