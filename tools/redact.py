"""Keep secrets out of anything printed, logged or stored."""

from __future__ import annotations

import re

# Shapes of common tokens, caught even when the value is not in our settings.
_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),
    re.compile(r"xox[baprs]-[A-Za-z0-9\-]{8,}"),
    re.compile(r"xapp-[A-Za-z0-9\-]{8,}"),
    re.compile(r"hf_[A-Za-z0-9]{20,}"),
    re.compile(r"(?i)(authorization:\s*bearer\s+)[^\s\"']+"),
]


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Replace known secret values and token-shaped strings with `[REDACTED]`."""
    if not text:
        return text
    if secrets is None:
        from tools.settings import get_settings

        secrets = get_settings().secrets()
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "[REDACTED]")
    for pat in _PATTERNS:
        text = pat.sub(lambda m: (m.group(1) if m.groups() else "") + "[REDACTED]", text)
    return text
