"""Build the LangChain chat model for the configured endpoint.

One code path for every backend: OpenAI, vLLM, Ollama, llama.cpp, and the
embedded default (a small GGUF served on 127.0.0.1 by xllamacpp), all through
`langchain_openai.ChatOpenAI`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.llm.embedded_models import MODELS, WEAK_TEACHER_NOTE
from tools.settings import Settings

DEFAULT_REMOTE_MODEL = "gpt-4o-mini"

STRONGER_NOTE = ("For faster generation and stronger data connect a hosted model: set "
                 "OPENAI_BASE_URL, OPENAI_API_KEY and P2M_MODEL.")


def weak_teacher(client) -> bool:
    """True when the teacher is an embedded model under 1B parameters (SmolLM2, the 0.5B)."""
    if not getattr(client, "embedded_hint", False):
        return False
    model = MODELS.get(str(getattr(client, "model_name", "")).lower())
    return model is not None and model.params_m < 1000


def teacher_note(client) -> str:
    """One honest sentence on who the teacher is and how to connect a stronger one."""
    if not getattr(client, "embedded_hint", False):
        return f"Teacher: {getattr(client, 'model_name', 'the configured endpoint')} (your endpoint)."
    if weak_teacher(client):
        return WEAK_TEACHER_NOTE
    model = MODELS.get(str(getattr(client, "model_name", "")).lower())
    what = model.title if model else str(getattr(client, "model_name", "a local GGUF model"))
    return (f"Teacher: the embedded {what}, served offline on this machine's CPU. "
            + STRONGER_NOTE)


@dataclass(frozen=True)
class Endpoint:
    """Where calls go: base URL, model name, and whether it is the embedded server."""

    base_url: str
    model: str
    embedded: bool


def resolve_endpoint(settings: Settings) -> Endpoint:
    """The configured endpoint, starting the embedded server when none is set."""
    if settings.openai_base_url:
        return Endpoint(settings.openai_base_url.rstrip("/"),
                        settings.model or DEFAULT_REMOTE_MODEL, embedded=False)
    from tools.llm.embedded import ensure_running

    info = ensure_running(settings)
    return Endpoint(info.base_url, settings.model or info.model, embedded=True)


def make_chat_model(settings: Settings, endpoint: Endpoint, *, temperature: float = 0.0,
                    max_tokens: int | None = 256, **kwargs):
    """A `ChatOpenAI` for `endpoint`; retries (with Retry-After) are the openai client's."""
    from langchain_openai import ChatOpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return ChatOpenAI(
        base_url=endpoint.base_url,
        api_key=key,
        model=endpoint.model,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        **kwargs,
    )
