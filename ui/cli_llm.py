"""`p2m llm ...`: the embedded model server (owned by tools/llm/embedded.py).

Examples:
    p2m llm start     # start it in the background (reused by every p2m process)
    p2m llm status    # is it running, where, which model
    p2m llm serve     # run it in the foreground; Ctrl-C stops it
    p2m llm stop
"""

import json

import typer

app = typer.Typer(help="Run or inspect the embedded LLM server.", no_args_is_help=True)


def _fail(msg: str) -> None:
    typer.secho(f"error: {msg}", fg="red", err=True)
    raise typer.Exit(1)


def _endpoint_note(settings) -> str:
    if settings.uses_embedded:
        return "No OPENAI_BASE_URL is set: p2m uses the embedded model."
    return (f"OPENAI_BASE_URL is set ({settings.openai_base_url}): p2m uses that endpoint, "
            "not the embedded model.")


@app.command()
def serve() -> None:
    """Serve the embedded model in the foreground until Ctrl-C."""
    from tools.llm import embedded
    from tools.settings import get_settings

    settings = get_settings()

    def ready(info) -> None:
        typer.echo(f"Serving {info.model} at {info.base_url} (pid {info.pid}). Ctrl-C stops.")

    try:
        embedded.serve_foreground(settings, on_ready=ready)
    except embedded.EmbeddedError as e:
        _fail(str(e))
    typer.echo("Stopped.")


@app.command()
def start() -> None:
    """Start the embedded model server in the background (or show the running one)."""
    from tools.llm import embedded
    from tools.settings import get_settings

    try:
        info = embedded.ensure_running(get_settings())
    except embedded.EmbeddedError as e:
        _fail(str(e))
    typer.echo(f"Running: {info.model} at {info.base_url} (pid {info.pid}).")


@app.command()
def status(json_out: bool = typer.Option(False, "--json", help="Print the state as JSON.")) -> None:
    """Show whether the embedded server runs, its URL, pid and model."""
    from tools.llm import embedded
    from tools.settings import get_settings

    settings = get_settings()
    st = embedded.status(settings)
    if json_out:
        typer.echo(json.dumps({"running": st is not None, **(st or {})}, indent=1))
        return
    if st:
        typer.echo(f"Running: {st['model']} at {st['base_url']} (pid {st['pid']}).")
    else:
        typer.echo("Not running. It starts on first use, or now with `p2m llm start`.")
    typer.echo(_endpoint_note(settings))
    from tools.llm.embedded_models import describe

    typer.echo(describe(settings))


@app.command()
def prepare(model: str = typer.Argument(None, help="A packaged model name (default: the "
                                                    "configured teacher).")) -> None:
    """Assemble and verify a packaged teacher model now (done on first use otherwise)."""
    import time

    from tools.llm import embedded_models as em

    try:
        m = em.get_model(model)
        t0 = time.monotonic()
        path = em.gguf_path(m.name)
    except em.ModelFilesError as e:
        _fail(str(e))
    typer.echo(f"{m.title}: {path} ({path.stat().st_size / 1e9:.2f} GB, verified"
               f"{'' if not m.sha256 else ' sha256 ' + m.sha256[:12] + '...'}; "
               f"{time.monotonic() - t0:.1f} s)")


@app.command()
def stop() -> None:
    """Stop the background embedded server."""
    from tools.llm import embedded
    from tools.settings import get_settings

    if embedded.stop(get_settings()):
        typer.echo("Stopped.")
    else:
        typer.echo("Not running.")
