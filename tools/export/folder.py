"""Export a trained model as a self-contained folder, then prove it still works.

The folder holds the weights (safetensors), tokenizer, p2m_model.json, the
model card (README.md), predict.py (the same code the evaluator measured) and
demo.py (Gradio). After writing it, predict.py is run in a fresh process on a
sample; any prediction that differs from the pre-export model fails the export.
"""

from __future__ import annotations

import json
import os
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


def export_model(model_path: str | Path, spec: TaskSpec, *, name: str, result: RunResult | None = None,
                 examples=(), sample_inputs: list[str] | None = None, exports_dir: str | Path | None = None,
                 overwrite: bool = False, verify_n: int = 20) -> Path:
    """Write the export folder and verify it; returns its path.

    examples: the training Examples (for provenance counts in the card).
    sample_inputs: inputs to re-check after export (default: the first training inputs).
    Raises ExportError on a bad name, a missing model, or a post-export mismatch.
    """
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
        (tmp / "p2m_model.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
        shutil.copy2(PREDICTOR, tmp / "predict.py")
        shutil.copy2(HERE / "demo_template.py", tmp / "demo.py")
        if result is not None:
            (tmp / "p2m_result.json").write_text(result.model_dump_json(indent=1))
        verified = ""
        if sample:
            before = Predictor(src).predict(sample)
            after = run_exported(tmp, sample)
            diff = [(x, b, a) for x, b, a in zip(sample, before, after) if b != a]
            if diff or len(after) != len(before):
                x, b, a = diff[0] if diff else ("?", len(before), len(after))
                raise ExportError(f"exported model disagrees with the trained one on {len(diff) or 'some'} of "
                                  f"{len(sample)} sample inputs (e.g. {x!r}: {b!r} before, {a!r} after)")
            verified = (f"\n_Export check: predict.py reloaded this folder in a fresh process and matched the "
                        f"trained model on {len(sample)} of {len(sample)} sample inputs._\n")
        (tmp / "README.md").write_text(model_card(dest.name, spec, meta, result, provenance_counts(rows),
                                                  verified), encoding="utf-8")
        tmp.rename(dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"could not write the export to {dest}: {e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
