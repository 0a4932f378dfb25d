"""Errors a user can act on, printed as one message (no traceback) with exit code 2.

    @app.command()
    @user_errors
    def run(...): ...
"""

from __future__ import annotations

import functools

import typer


def _known() -> tuple[type[BaseException], ...]:
    from tools.llm.probe import EndpointUnreachable
    from tools.store import StoreError

    return (EndpointUnreachable, StoreError)  # StoreError includes a damaged checkpoints.sqlite


def user_errors(fn):
    """Wrap a command: a known error becomes `error: <message>` on stderr and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _known() as e:
            typer.secho(f"error: {e}", fg="red", err=True)
            raise typer.Exit(2) from None

    return wrapper
