"""Optional link to the DuckDB store: training and evaluation work without it."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def open_store(settings=None):
    """The project store, or None when it is not available (never fatal)."""
    try:
        from tools.settings import get_settings
        from tools.store import Store
    except ImportError:
        return None
    try:
        return Store(settings or get_settings())
    except Exception as e:  # noqa: BLE001 - a broken store must not lose a training run
        log.warning("store unavailable, continuing without it: %s", e)
        return None


def record(store, table: str, row: dict):
    """store.record(table, row), logging instead of raising; returns the id or None."""
    if store is None:
        return None
    try:
        return store.record(table, row)
    except Exception as e:  # noqa: BLE001 - progress rows are best effort
        log.warning("could not record a %s row: %s", table, e)
        return None
