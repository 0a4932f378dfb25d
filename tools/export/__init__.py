"""Export: a deployable folder (safetensors, tokenizer, card, predict.py, demo.py).

    from tools.export import export_model
    folder = export_model(result.model_path, spec, name="ticket-router", result=result,
                          examples=train_examples)
"""

from tools.export.card import model_card, provenance_counts
from tools.export.folder import export_model, run_exported
from tools.export.hub import push_to_hub
from tools.export.names import ExportError, sanitize_name

__all__ = ["ExportError", "export_model", "model_card", "provenance_counts", "push_to_hub",
           "run_exported", "sanitize_name"]
