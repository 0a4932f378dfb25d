"""`p2m hub ...`: search datasets and base models."""

import typer

app = typer.Typer(help="Search datasets and base models on the Hub index and local catalogs.",
                  no_args_is_help=True)
