"""`p2m web` and `p2m slack`: the browser and Slack front ends.

Registered on the main typer app by `register(app)` (called from ui/cli.py).
"""

from __future__ import annotations

import typer

from ui.cli_errors import user_errors


@user_errors
def web(host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (non-loopback needs P2M_WEB_USER/P2M_WEB_PASSWORD)."),
        port: int = typer.Option(7860, "--port", help="Port to listen on."),
        tiny: bool = typer.Option(False, "--tiny", help="Tiny sizes for new sessions (smoke and load tests).")) -> None:
    """Chat with the assistant in the browser (Gradio)."""
    from ui.web import AuthRequired, launch, web_auth

    try:
        web_auth(host)
    except AuthRequired as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(2)
    typer.echo(f"p2m web on http://{host}:{port}  (Ctrl-C to stop)")
    sizes = None
    if tiny:
        from agent.context import Sizes

        sizes = Sizes.tiny()
    launch(host, port, block=True, sizes=sizes)


@user_errors
def slack(http: bool = typer.Option(False, "--http", help="HTTP mode (events at /slack/events) instead of Socket Mode."),
          port: int = typer.Option(3000, "--port", help="Port for --http."),
          host: str = typer.Option("127.0.0.1", "--host", help="Interface for --http (e.g. 0.0.0.0 behind a proxy Slack can reach).")) -> None:
    """Run the Slack bot (Socket Mode by default; --http for the Events API)."""
    from ui.slack_bot import ConfigError, run

    try:
        run(http=http, port=port, host=host)
    except ConfigError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("web")(web)
    app.command("slack")(slack)
