"""The exceptions the stores raise: each message says what happened and what to do."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """A store problem a user can act on (bad input, locked or corrupt file)."""


class CheckpointsDamaged(StoreError):
    """LangGraph's session file (checkpoints.sqlite) cannot be read."""


def damaged_store(path: Path, spool_dir: Path, detail: str) -> StoreError:
    """The DuckDB file is not a readable database: where it is, how to recover, what is lost."""
    return StoreError(
        f"the store file {path} is damaged or not a DuckDB database ({detail}). Move it aside "
        f"and a new one is created by the next command: mv {path} {path}.bad (and {path}.wal if "
        f"it exists). Lost with it: the rows already stored there (the sessions list, examples, "
        f"LLM call log, runs and metrics; the moved file may still open in the duckdb shell). "
        f"Rows not stored yet wait in {spool_dir} and go into the new store; session "
        f"conversations (checkpoints.sqlite) and exported models are not affected.")


def damaged_checkpoints(path: Path, detail: str) -> CheckpointsDamaged:
    """The SQLite checkpoint file is not readable: where it is, how to recover, what is lost."""
    return CheckpointsDamaged(
        f"the session file {path} is damaged or not an SQLite database ({detail}). Move it "
        f"aside and a new one is created by the next command: mv {path} {path}.bad (and its "
        f"-wal and -shm files if they exist). Lost with it: the saved conversations, so no "
        f"earlier session can be resumed; the experiment store (p2m.duckdb: examples, runs, "
        f"metrics, `p2m sql`) and exported models are not affected.")
