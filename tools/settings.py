"""One settings object for the whole product.

Every field falls back to an environment variable (the `env` name given on the
field), and a value passed to the constructor beats the environment. Nothing
here reads files under `../shared`: the product must run from a fresh clone.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    # XDG-style default, so a user's sessions survive a fresh clone of the repo.
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "p2m"


class Settings(BaseSettings):
    """Runtime configuration: LLM endpoint, data directory, Hub access."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore",
                                      case_sensitive=True)  # else $HOME fills `home`

    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("openai_base_url", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp). "
        "Unset: the embedded model is started on 127.0.0.1.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("openai_api_key", "OPENAI_API_KEY"),
        description="API key for the endpoint. Never printed or stored.",
    )
    model: str | None = Field(
        default=None,
        validation_alias=AliasChoices("model", "P2M_MODEL"),
        description="Teacher/chat model name at the endpoint (default: gpt-4o-mini "
        "for a configured endpoint, the embedded model's name otherwise).",
    )
    structured_method: str = Field(
        default="json_schema",
        validation_alias=AliasChoices("structured_method", "P2M_STRUCTURED_METHOD"),
        description="How to ask for structured output: json_schema (OpenAI, llama.cpp "
        "server), function_calling (llama-cpp-python), or json_mode.",
    )
    home: Path = Field(
        default_factory=_default_home,
        validation_alias=AliasChoices("home", "P2M_HOME"),
        description="Data directory: store, checkpoints, LLM cache, exports.",
    )
    hf_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("hf_token", "HF_TOKEN")
    )
    hf_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("hf_endpoint", "HF_ENDPOINT")
    )
    offline: bool = Field(
        default=False,
        validation_alias=AliasChoices("offline", "P2M_OFFLINE", "HF_HUB_OFFLINE"),
        description="Never touch the network: Hub calls are skipped, content only "
        "from local catalogs and user files.",
    )
    embedded_model: str | None = Field(
        default=None,
        validation_alias=AliasChoices("embedded_model", "P2M_EMBEDDED_MODEL"),
        description="The packaged model the embedded server runs: qwen2.5-coder-1.5b-instruct "
        "(default), qwen2.5-coder-0.5b-instruct or smollm2-135m-instruct (fast, for tests).",
    )
    embedded_threads: int = Field(
        default=1,
        validation_alias=AliasChoices("embedded_threads", "P2M_EMBEDDED_THREADS"),
        description="Generation threads for the embedded server. 1 is the measured "
        "sweet spot on a shared 2-core box (2 threads collapse under load).",
    )
    llm_timeout: float = Field(
        default=120.0, validation_alias=AliasChoices("llm_timeout", "P2M_LLM_TIMEOUT")
    )
    llm_max_retries: int = Field(
        default=3, validation_alias=AliasChoices("llm_max_retries", "P2M_LLM_MAX_RETRIES")
    )
    cache: bool = Field(
        default=True,
        validation_alias=AliasChoices("cache", "P2M_CACHE"),
        description="Content-addressed LLM call cache (off with --no-cache).",
    )

    @property
    def uses_embedded(self) -> bool:
        """True when no endpoint is configured and the embedded model serves."""
        return not self.openai_base_url

    @property
    def store_path(self) -> Path:
        return self.home / "p2m.duckdb"

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def checkpoints_path(self) -> Path:
        return self.home / "checkpoints.sqlite"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    def ensure_dirs(self) -> "Settings":
        """Create the data directory tree; returns self for chaining."""
        for p in (self.home, self.spool_dir, self.cache_dir, self.runs_dir, self.exports_dir):
            p.mkdir(parents=True, exist_ok=True)
        return self

    def secrets(self) -> list[str]:
        """Secret values to redact from anything printed or stored."""
        vals = [self.openai_api_key, self.hf_token]
        out = [v.get_secret_value() for v in vals if v is not None]
        out += [os.environ[k] for k in _SECRET_ENV if os.environ.get(k)]
        return [s for s in out if len(s) >= 6]


_SECRET_ENV = ("OPENAI_API_KEY", "HF_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
               "SLACK_SIGNING_SECRET")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings from the environment (tests build their own)."""
    return Settings()
