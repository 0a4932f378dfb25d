"""Build the LangChain chat model for the configured endpoint.

One code path for every backend: OpenAI, vLLM, Ollama, llama.cpp, and the
embedded default (a small GGUF served on 127.0.0.1 by xllamacpp), all through
`langchain_openai.ChatOpenAI`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.settings import Settings

DEFAULT_REMOTE_MODEL = "gpt-4o-mini"

WEAK_TEACHER_NOTE = (
    "Using the embedded SmolLM2-135M model: it runs offline but is a weak teacher. "
    "For better data and baselines connect a stronger OpenAI-compatible endpoint: "
    "set OPENAI_BASE_URL, OPENAI_API_KEY and P2M_MODEL."
)


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
