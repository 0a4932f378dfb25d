"""Is the Hugging Face Hub reachable right now? One quick probe, cached per process.

Without it, an offline machine that forgot HF_HUB_OFFLINE=1 spends ~20 s of
retries on every Hub call (FACTS.md); with it, the product goes offline at once
and says so.
"""

from __future__ import annotations

import socket
from functools import lru_cache
from urllib.parse import urlparse

DEFAULT_ENDPOINT = "https://huggingface.co"


@lru_cache(maxsize=8)
def _can_connect(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_online(settings, timeout: float = 2.0) -> bool:
    """False when offline mode is on or the Hub endpoint does not accept a connection."""
    if settings.offline:
        return False
    url = urlparse(settings.hf_endpoint or DEFAULT_ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    return _can_connect(url.hostname or "", port, timeout)


def effective_settings(settings):
    """`settings`, switched to offline when the Hub can't be reached."""
    if settings.offline or hub_online(settings):
        return settings
    return settings.model_copy(update={"offline": True})
