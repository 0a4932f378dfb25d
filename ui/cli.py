"""The `p2m` command line.

Examples:
    p2m run --yes "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"
    p2m llm status
    p2m sql "SELECT kind, count(*) FROM examples GROUP BY 1"

Heavy libraries (torch, transformers, gradio) are imported inside commands so
`p2m --help` stays fast.
"""

from __future__ import annotations

import typer

from ui import cli_agent, cli_frontends, cli_hub, cli_llm
from ui.cli_errors import user_errors

app = typer.Typer(
    help="Turn a task description into a small, deployable model, by conversation.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold API keys
)


@app.callback()
def options(no_cache: bool = typer.Option(
        False, "--no-cache", help="Don't reuse cached LLM replies (every call is paid again).")) -> None:
    """Options for every command, e.g. `p2m --no-cache run ...`."""
    if no_cache:
        import os

        from tools.settings import get_settings

        os.environ["P2M_CACHE"] = "0"
        get_settings.cache_clear()


app.add_typer(cli_llm.app, name="llm")
app.add_typer(cli_hub.app, name="hub")
cli_agent.register(app)
cli_frontends.register(app)


@app.command()
@user_errors
def sql(query: str = typer.Argument(..., help="A read-only SQL query over the store."),
        json_out: bool = typer.Option(False, "--json", help="Print rows as JSON."),
        timeout: float = typer.Option(60.0, "--timeout", help="Stop the query after this many seconds.")) -> None:
    """Query the experiment store (examples, llm_calls, runs, metrics, events) read-only.

    The query runs on a snapshot of the store, so a slow one never blocks a running session.
    """
    import json

    from rich.console import Console
    from rich.table import Table

    from tools.settings import get_settings
    from tools.store import Store, StoreError

    try:
        rows = Store(get_settings()).query_readonly(query, timeout_s=timeout if timeout > 0 else None)
    except StoreError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(2)
    if json_out:
        typer.echo(json.dumps(rows, default=str, indent=1))
        return
    if not rows:
        typer.echo("(no rows)")
        return
    table = Table()
    for col in (rows[0].keys() if rows else []):
        table.add_column(col)
    for r in rows:
        table.add_row(*[str(v) for v in r.values()])
    Console().print(table)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
