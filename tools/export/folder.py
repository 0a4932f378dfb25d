"""Export a trained model as a self-contained folder, then prove it still works.

The folder holds the weights (safetensors), tokenizer, p2m_model.json, the
model card (README.md), predict.py (the same code the evaluator measured) and
demo.py (Gradio). An encoder student also gets an ONNX copy (fp32 or dynamic
int8, whichever is fastest among those within 0.5 accuracy points of PyTorch on
the evaluation rows: tools/export/onnx_copy.py) that predict.py then runs.
After writing it, predict.py is run in a fresh process on a sample; any
prediction that differs from the same copy run in this process fails the export,
and so does a local path left in any text file of the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tools.contracts import RunResult, TaskSpec
from tools.export.card import model_card, provenance_counts
from tools.export.names import ExportError, sanitize_name

HERE = Path(__file__).resolve().parent
PREDICTOR = HERE.parent / "train" / "predictor.py"
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors", "head.safetensors",
               "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
               "chat_template.jinja", "merges.txt", "vocab.json", "added_tokens.json",
               "tokenizer.model", "p2m_model.json")
TEXT_SUFFIXES = (".json", ".md", ".txt", ".jinja", ".py")
VOCAB_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "merges.txt")  # tokens, not paths


def _free_dest(root: Path, name: str, overwrite: bool) -> Path:
    dest = (root / name).resolve()
    if root.resolve() not in dest.parents:
        raise ExportError(f"export name {name!r} leaves the exports folder")
    if dest.exists() and overwrite:
        shutil.rmtree(dest)
    i = 2
    while dest.exists():
        dest = root.resolve() / f"{name}-{i}"
        i += 1
    return dest


def run_exported(folder: Path, inputs: list[str], timeout: float = 600) -> list[str]:
    """Predictions from the exported predict.py in a fresh Python process."""
    sample = folder / ".verify_inputs.txt"
    sample.write_text("\n".join(x.replace("\n", " ") for x in inputs), encoding="utf-8")
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)  # the folder must run without this repo on the path
    try:
        proc = subprocess.run([sys.executable, "predict.py", "--file", sample.name], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        sample.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise ExportError(f"the exported predict.py failed (exit {proc.returncode}): {proc.stderr[-800:]}")
    return [json.loads(l)["prediction"] for l in proc.stdout.splitlines() if l.startswith("{")]


def _public_result(result: RunResult, name: str, base_id: str | None) -> str:
    """p2m_result.json without the build machine's paths."""
    r = result.model_copy(deep=True)
    r.model_path, r.base_model = ".", base_id or ""
    for s in r.scores:
        if s.system == "student":
            s.name = name
    return r.model_dump_json(indent=1)


def local_paths(folder: Path, needles: list[str]) -> list[str]:
    """'file: path' for each text file of the folder that names a local path."""
    hits = []
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix in TEXT_SUFFIXES and f.name not in VOCAB_FILES:
            text = f.read_text(encoding="utf-8", errors="ignore")
            hits += [f"{f.name}: {n}" for n in needles if n and n in text]
    return hits


def _needles(src: Path, result: RunResult | None) -> list[str]:
    import site
    import sysconfig

    out = {str(src.resolve()), str(Path.home()), sysconfig.get_paths()["purelib"], *site.getsitepackages(),
           os.environ.get("P2M_HOME", "")}
    if result is not None and result.base_model.startswith("/"):
        out.add(result.base_model)
    return sorted(p for p in out if p.count("/") >= 2)  # '/root' alone would match ordinary text


def _strip_paths(text: str, needles: list[str]) -> str:
    """text with every local path that starts with one of needles cut to its last part."""
    for n in sorted(needles, key=len, reverse=True):
        text = re.sub(re.escape(n) + r"[^\s,;:'\"]*", lambda m: Path(m.group(0)).name, text)
    return text


def _onnx_runtime(tmp: Path, meta: dict, sample: list[str], eval_examples) -> dict | None:
    from tools.export import onnx_copy

    if meta.get("format") not in onnx_copy.ENCODER_FORMATS or not onnx_copy.available():
        return None
    rows = [r if isinstance(r, dict) else {"input": r.input, "output": r.output} for r in eval_examples or []]
    inputs = [r["input"] for r in rows] or sample
    golds = [str(r["output"]).strip() for r in rows] or None
    if not inputs:
        return None
    runtime = onnx_copy.build_and_check(tmp, meta, inputs, golds)
    from tools.train.predictor import Predictor

    runtime["num_parameters"] = Predictor(tmp, meta=meta, runtime="torch").num_parameters
    return runtime


def export_model(model_path: str | Path, spec: TaskSpec, *, name: str, result: RunResult | None = None,
                 examples=(), sample_inputs: list[str] | None = None, exports_dir: str | Path | None = None,
                 overwrite: bool = False, verify_n: int = 20, eval_examples=None, eval_source: str = "",
                 onnx: bool = True, license: str | None = None) -> Path:
    """Write the export folder and verify it; returns its path.

    examples: the training Examples (for provenance counts in the card).
    sample_inputs: inputs to re-check after export (default: the first training inputs).
    eval_examples: labelled evaluation rows; the ONNX copies must keep accuracy on them
    (without them, they must agree with PyTorch on every sample input).
    eval_source: what the evaluation set is ("the real test split of trec (500 rows)"), for the card.
    Raises ExportError on a bad name, a missing model, a post-export mismatch or a local path
    left in the folder.
    """
    from tools.train.base_models import LICENSES, canonical_id
    from tools.train.predictor import Predictor

    src = Path(model_path)
    if not (src / "p2m_model.json").exists() or not (src / "config.json").exists():
        raise ExportError(f"{src} is not a trained p2m model folder (needs config.json and p2m_model.json)")
    if not (src / "model.safetensors").exists():
        raise ExportError(f"{src} has no model.safetensors: only safetensors weights are exported")
    name = sanitize_name(name)
    if exports_dir is None:
        from tools.settings import get_settings

        exports_dir = get_settings().ensure_dirs().exports_dir
    root = Path(exports_dir)
    root.mkdir(parents=True, exist_ok=True)
    dest = _free_dest(root, name, overwrite)
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for f in MODEL_FILES:
            if (src / f).exists():
                shutil.copy2(src / f, tmp / f)
        rows = list(examples)
        sample = list(sample_inputs or [r["input"] if isinstance(r, dict) else r.input for r in rows])[:verify_n]
        meta = json.loads((tmp / "p2m_model.json").read_text())
        meta.update(name=dest.name, examples=[[x] for x in sample[:3]])
        training = meta.setdefault("training", {})
        training.setdefault("base_model_id", canonical_id(result.base_model) if result else None)
        # notes are prose for the card: a path in one is cut to its last part, not a reason to refuse the folder
        training["notes"] = [_strip_paths(n, _needles(src, result)) for n in training.get("notes") or []]
        if onnx and (runtime := _onnx_runtime(tmp, meta, sample, eval_examples)):
            meta["runtime"] = runtime
        (tmp / "p2m_model.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
        shutil.copy2(PREDICTOR, tmp / "predict.py")
        shutil.copy2(HERE / "demo_template.py", tmp / "demo.py")
        if result is not None:
            (tmp / "p2m_result.json").write_text(_public_result(result, dest.name, training.get("base_model_id")))
        verified = ""
        if sample:
            before = Predictor(tmp).predict(sample)  # the copy predict.py will run (ONNX when it passed)
            after = run_exported(tmp, sample)
            diff = [(x, b, a) for x, b, a in zip(sample, before, after) if b != a]
            if diff or len(after) != len(before):
                x, b, a = diff[0] if diff else ("?", len(before), len(after))
                raise ExportError(f"exported model disagrees with the trained one on {len(diff) or 'some'} of "
                                  f"{len(sample)} sample inputs (e.g. {x!r}: {b!r} before, {a!r} after)")
            copy = (meta.get("runtime") or {}).get("chosen", "pytorch")
            which = "" if copy == "pytorch" else \
                f", run as its checked {'int8' if copy == 'int8' else 'fp32'} ONNX copy (what predict.py runs)"
            verified = (f"\n_Export check: predict.py reloaded this folder in a fresh process and matched the "
                        f"trained model on {len(sample)} of {len(sample)} sample inputs{which}._\n")
        (tmp / "README.md").write_text(model_card(dest.name, spec, meta, result, provenance_counts(rows),
                                                  verified, eval_source=eval_source,
                                                  license=license or LICENSES.get(training.get("base_model_id"))),
                                       encoding="utf-8")
        if hits := local_paths(tmp, _needles(src, result)):
            raise ExportError(f"the export would name local paths ({'; '.join(hits[:3])}): not written")
        tmp.rename(dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"could not write the export to {dest}: {e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
