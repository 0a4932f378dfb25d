"""The one exception the store raises: its message says what happened and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """A store problem a user can act on (bad input, locked or corrupt file)."""
