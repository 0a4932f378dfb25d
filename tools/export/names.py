"""Export names: safe folder names and Hub repo ids (no path traversal)."""

from __future__ import annotations

import re


class ExportError(RuntimeError):
    """The export could not be made or failed its post-export check."""


def sanitize_name(name: str) -> str:
    """A folder-safe export name: letters, digits, '-', '_', '.'; never '..' or a path.

    'my model/../../etc' -> 'my-model-etc'. Raises ExportError when nothing is left.
    """
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name or "")).strip("-._")
    s = re.sub(r"\.{2,}", ".", s)
    s = re.sub(r"-{2,}", "-", s)[:80].strip("-._")
    if not s:
        raise ExportError(f"export name {name!r} has no usable characters; use letters, digits, '-' or '_'")
    return s


def valid_repo_id(repo_id: str) -> str:
    """'owner/name' with Hub-safe characters, else ExportError."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}", repo_id or "") \
            or ".." in repo_id:
        raise ExportError(f"Hub repo id {repo_id!r} must look like 'owner/model-name'")
    return repo_id
