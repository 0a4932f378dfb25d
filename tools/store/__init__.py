"""The DuckDB experiment store: `Store(settings)` records from any process, queries with SQL."""

from tools.store.errors import StoreError
from tools.store.migrations import SCHEMA
from tools.store.rows import example_row
from tools.store.store import Store

__all__ = ["SCHEMA", "Store", "StoreError", "example_row"]
