"""Publish an export folder to the Hugging Face Hub (online, on request only)."""

from __future__ import annotations

from pathlib import Path

from tools.export.names import ExportError, valid_repo_id


def push_to_hub(folder: str | Path, repo_id: str, settings=None, private: bool = True,
                api=None) -> str:
    """Create (or reuse) the repo and upload the folder; returns the repo URL.

    Refuses when offline or without a token; the token is never printed.
    `api` lets tests pass an HfApi pointed at a local fake endpoint.
    """
    from tools.settings import get_settings

    settings = settings or get_settings()
    folder = Path(folder)
    if not (folder / "p2m_model.json").exists():
        raise ExportError(f"{folder} is not a p2m export folder")
    repo_id = valid_repo_id(repo_id)
    if settings.offline:
        raise ExportError("offline mode is on (P2M_OFFLINE/HF_HUB_OFFLINE): not pushing to the Hub")
    if settings.hf_token is None and api is None:
        raise ExportError("set HF_TOKEN to push to the Hub")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token.get_secret_value())
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                          commit_message="Upload model exported by p2m",
                          ignore_patterns=["__pycache__/*", "*.pyc", ".*"])  # left by running predict.py
    except Exception as e:  # noqa: BLE001 - network, auth, quota: one clear line, no token in it
        from tools.redact import redact

        raise ExportError(f"push to {repo_id} failed: {redact(str(e), settings.secrets())}") from None
    return str(url)
