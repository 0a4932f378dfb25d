"""ONNX copies of an encoder student, checked before predict.py may use them.

`model.onnx` is the whole classifier as one graph (encoder + head, output
`logits`), written by `torch.onnx.export` (not optimum, which pins an older
transformers); `model.int8.onnx` is onnxruntime's dynamic int8 quantization of
it. Each copy is scored on the evaluation rows next to the PyTorch model and
timed one example at a time; a copy passes when its accuracy is within
MAX_DROP of PyTorch's (without labelled rows: when it agrees on every sample).
predict.py then runs the fastest copy that passed (`runtime` in p2m_model.json).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)
ENCODER_FORMATS = ("sequence-classification", "embedding-linear")
MAX_DROP = 0.005  # accuracy points (0-1) an ONNX copy may lose against PyTorch: the 0.5 points
TIMED = 40  # inputs timed one at a time per runtime


def available() -> bool:
    """True when onnx and onnxruntime are installed (the copies are optional)."""
    try:
        import onnxruntime  # noqa: F401
        from onnxruntime.quantization import quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    return True


def _graph(folder: Path, meta: dict):
    """The classifier as one module: (input_ids, attention_mask) -> logits."""
    import torch
    from safetensors.torch import load_file

    from tools.train.predictor import mean_pool

    if meta["format"] == "sequence-classification":
        from transformers import AutoModelForSequenceClassification as Auto
    else:
        from transformers import AutoModel as Auto
    model = Auto.from_pretrained(folder, attn_implementation="eager").eval()
    head = load_file(str(folder / "head.safetensors")) if meta["format"] == "embedding-linear" else None

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            if head is not None:
                self.register_buffer("w", head["weight"].float())
                self.register_buffer("b", head["bias"].float())

        def forward(self, input_ids, attention_mask):
            if head is None:
                return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return mean_pool(hidden, attention_mask) @ self.w.T + self.b

    return Logits().eval()


def export_onnx(folder: Path, meta: dict) -> Path:
    """Write folder/model.onnx (dynamic batch and sequence axes); returns its path."""
    import torch

    out = folder / "model.onnx"
    module = _graph(folder, meta)
    ids = torch.ones(2, 8, dtype=torch.long)
    mask = torch.ones(2, 8, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(module, (ids, mask), str(out), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False)
    return out


def quantize_int8(src: Path) -> Path:
    """Dynamic int8 quantization of the weights (activations quantised at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = src.with_name("model.int8.onnx")
    quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True)
    return out


def _timed(predictor, inputs: list[str]) -> tuple[list[str], float]:
    sample = inputs[:TIMED]
    predictor.predict(sample[:2])  # warm-up (first-call allocations)
    t = time.perf_counter()
    for x in sample:
        predictor.predict([x])
    ms = (time.perf_counter() - t) * 1000 / max(1, len(sample))
    return predictor.predict(inputs), ms


def _accuracy(preds: list[str], golds: list[str]) -> float:
    return sum(p == g for p, g in zip(preds, golds)) / max(1, len(golds))


def build_and_check(folder: Path, meta: dict, inputs: list[str], golds: list[str] | None = None) -> dict:
    """Write the ONNX copies into folder, check and time them; returns the `runtime` entry
    for p2m_model.json: {"onnx": file or None, "check": {runtime: {...}}, "chosen": name}."""
    from tools.train.predictor import Predictor

    inputs = [str(x) for x in inputs]
    labelled = bool(golds) and len(golds) == len(inputs)
    ref = Predictor(folder, meta=meta, runtime="torch")
    ref_preds, ref_ms = _timed(ref, inputs)
    check = {"pytorch": {"ms_per_example": round(ref_ms, 2), "passed": True}}
    if labelled:
        check["pytorch"]["accuracy"] = round(_accuracy(ref_preds, golds), 4)
    check["rows"], check["labelled"] = len(inputs), labelled
    files = {}
    try:
        files["onnx"] = export_onnx(folder, meta)
        files["int8"] = quantize_int8(files["onnx"])
    except Exception as e:  # noqa: BLE001 - the PyTorch copy still serves; say why in the card
        log.warning("ONNX export failed: %s", e)
        check["onnx_error"] = f"{type(e).__name__}: {str(e)[:200]}"
    for name, path in files.items():
        pred, ms = _timed(Predictor(folder, meta=meta, runtime=f"onnx:{path.name}"), inputs)
        agree = sum(p == r for p, r in zip(pred, ref_preds)) / max(1, len(inputs))
        row = {"file": path.name, "ms_per_example": round(ms, 2), "agreement_with_pytorch": round(agree, 4),
               "size_mb": round(path.stat().st_size / 1e6, 1)}
        if labelled:
            row["accuracy"] = round(_accuracy(pred, golds), 4)
            row["passed"] = row["accuracy"] >= check["pytorch"]["accuracy"] - MAX_DROP
        else:
            row["passed"] = agree == 1.0
        check[name] = row
    passed = [n for n in ("pytorch", "onnx", "int8") if (check.get(n) or {}).get("passed")]
    chosen = min(passed, key=lambda n: check[n]["ms_per_example"])
    for name, path in files.items():  # only the copy predict.py runs is shipped
        if name != chosen:
            path.unlink(missing_ok=True)
    return {"onnx": check[chosen].get("file"), "chosen": chosen, "check": check}
