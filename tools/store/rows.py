"""How contracts become store rows: one mapping per recorded shape, shared by every writer."""

from __future__ import annotations

from tools.contracts import Example


def example_row(example: Example, session_id: str | None, round_: int,
                id: str | None = None) -> dict:
    """An `examples` row for one Example; `id` makes a re-recorded row a no-op (same id)."""
    row = {"session_id": session_id, "round": round_, "input": example.input,
           "output": example.output, "split": example.split, "source": example.source,
           "teacher": example.teacher, "params": example.params, "verdicts": example.verdicts,
           "accepted": example.accepted}
    if id is not None:
        row["id"] = id
    return row
