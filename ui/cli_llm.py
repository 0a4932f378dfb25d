"""`p2m llm ...`: the embedded model server (owned by tools/llm/embedded.py)."""

import typer

app = typer.Typer(help="Run or inspect the embedded LLM server.", no_args_is_help=True)
