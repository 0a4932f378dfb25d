"""`p2m hub ...`: search datasets and base models.

Examples:
    p2m hub search datasets "classify questions by the type of answer they expect" --json
    p2m hub search datasets "movie review sentiment" --catalog ~/datasets --kind classification
    p2m hub search models "classify support tickets" --kind classification --max-params 150
    p2m hub refresh            # online only: merge fresh Hub metadata into the local index
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Search datasets and base models on the Hub index and local catalogs.",
                  no_args_is_help=True)
search_app = typer.Typer(help="Search datasets or models.", no_args_is_help=True)
app.add_typer(search_app, name="search")


def _print(result, json_out: bool) -> None:
    """Candidates as JSON (stdout) or a table; notes go to stderr either way."""
    for note in result.notes:
        typer.secho(f"note: {note}", fg="yellow", err=True)
    rows = [c.model_dump(exclude_none=True) for c in result.candidates]
    if json_out:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in ("#", "id", "score", "size", "license", "reachable", "why"):
        table.add_column(col, overflow="fold")
    for i, c in enumerate(result.candidates, 1):
        table.add_row(str(i), c.id, f"{c.score:.4f}", c.size or "", c.license or "",
                      "yes" if c.reachable else "no", c.why[:90])
    Console().print(table)


@search_app.command("datasets")
def search_datasets_cmd(
    query: str = typer.Argument("", help="What the data should be for, in plain words."),
    catalog: list[Path] = typer.Option([], "--catalog", help="Local dataset folder(s); repeatable."),
    kind: Optional[str] = typer.Option(None, help="classification | extraction | generation"),
    language: Optional[str] = typer.Option(None, help="ISO code, e.g. en"),
    license: list[str] = typer.Option([], "--license", help="Allowed license prefix; repeatable."),
    max_size: Optional[str] = typer.Option(None, help="Largest size category, e.g. 100K<n<1M"),
    reachable_only: bool = typer.Option(False, help="Only datasets loadable right now."),
    k: int = typer.Option(10, "-k", min=1, max=100, help="How many results."),
    bm25_only: bool = typer.Option(False, help="Skip dense vectors (instant, less accurate)."),
    live: bool = typer.Option(False, help="Online: also ask the Hub for matching ids."),
    json_out: bool = typer.Option(False, "--json", help="Print candidates as JSON."),
) -> None:
    """Rank datasets for a task description (offline: snapshot + catalogs)."""
    from tools.hub.search import DatasetFilters, search_datasets
    from tools.settings import get_settings

    if kind and kind not in ("classification", "extraction", "generation"):
        typer.secho(f"error: --kind must be classification, extraction or generation, not {kind!r}",
                    fg="red", err=True)
        raise typer.Exit(2)
    filters = DatasetFilters(kind=kind, language=language, licenses=license, max_size=max_size,
                             reachable_only=reachable_only)
    res = search_datasets(query, settings=get_settings(), catalogs=catalog, filters=filters, k=k,
                          dense=not bm25_only, live=live)
    _print(res, json_out)
    if not query.strip():
        raise typer.Exit(2)


@search_app.command("models")
def search_models_cmd(
    query: str = typer.Argument("", help="The task, in plain words."),
    kind: Optional[str] = typer.Option(None, help="classification | extraction | generation"),
    max_params: Optional[float] = typer.Option(None, help="Max parameters, millions."),
    license: list[str] = typer.Option([], "--license", help="Allowed license prefix; repeatable."),
    language: Optional[str] = typer.Option(None, help="ISO code, e.g. en"),
    k: int = typer.Option(10, "-k", min=1, max=100),
    json_out: bool = typer.Option(False, "--json", help="Print candidates as JSON."),
) -> None:
    """Rank base models the trainer supports (packaged models first: no download)."""
    from tools.hub.models import search_models
    from tools.hub.records import KIND_ARCHS
    from tools.settings import get_settings

    if kind and kind not in KIND_ARCHS:
        typer.secho(f"error: --kind must be one of {sorted(KIND_ARCHS)}", fg="red", err=True)
        raise typer.Exit(2)
    res = search_models(query, settings=get_settings(), k=k,
                        archs=KIND_ARCHS.get(kind) if kind else None, max_params_m=max_params,
                        licenses=license, language=language)
    _print(res, json_out)


@app.command("refresh")
def refresh_cmd(
    limit: int = typer.Option(2000, help="Datasets to fetch (by downloads)."),
    models_per_tag: int = typer.Option(300, help="Models per supported pipeline tag."),
    timeout: float = typer.Option(20.0, help="Seconds per Hub request."),
    embed: bool = typer.Option(True, help="Embed new records now (so searches stay fast)."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Merge fresh Hub metadata into the local index (online only; incremental)."""
    from tools.hub.refresh import refresh
    from tools.settings import get_settings

    settings = get_settings()
    rep = refresh(settings, limit=limit, models_per_tag=models_per_tag, timeout=timeout,
                  embed=embed)
    if json_out:
        typer.echo(rep.model_dump_json(indent=1))
    else:
        typer.echo(f"datasets {rep.datasets}, models {rep.models} fetched; {rep.new} new, "
                   f"{rep.changed} changed; {rep.seconds:.1f}s")
    for err in rep.errors:
        typer.secho(f"warning: {err}", fg="yellow", err=True)
    if rep.errors and not (rep.datasets or rep.models):
        raise typer.Exit(1)


@app.command("index")
def index_cmd(catalog: list[Path] = typer.Option([], "--catalog", help="Also index these catalogs.")
              ) -> None:
    """Build the search index now (embeds every record not yet embedded), with timings."""
    import time

    from tools.hub.catalog import scan_catalogs
    from tools.hub.records import dataset_text, model_text
    from tools.hub.local_index import get_index, load_records
    from tools.settings import get_settings

    settings = get_settings()
    for kind, fn in (("datasets", dataset_text), ("models", model_text)):
        records = load_records(kind, settings)
        if kind == "datasets" and catalog:
            records += scan_catalogs(catalog)[0]
        t0 = time.perf_counter()
        get_index(kind, records, fn, settings, max_embed=10**9,
                  progress=lambda i, n: typer.echo(f"{kind}: embedded {i}/{n}", err=True))
        typer.echo(f"{kind}: {len(records)} records indexed in {time.perf_counter() - t0:.1f}s")
