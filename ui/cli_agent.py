"""`p2m run`, `p2m chat`, `p2m sessions ...`, `p2m report`: the agent in a terminal.

    p2m run --yes "Classify tickets as billing, technical or other. 'I was charged twice' -> billing"
    p2m chat --session 3f2a9c0d1e4b
    p2m sessions list
    p2m report 3f2a9c0d1e4b
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markdown import Markdown

from ui import render
from ui.cli_errors import user_errors
from ui.render_pause import hint_line, pause_view

console = Console()
sessions_app = typer.Typer(help="List, show and resume saved sessions.", no_args_is_help=True)


def _printer(kind: str, p: dict) -> None:
    """Progress lines for the terminal (rendered by ui/render.py, like every front end's)."""
    line = render.terminal_line(kind, p)
    if line:
        console.print(line)


def _context(settings, *, autopilot: bool, out: str | None, tiny: bool, session_id: str | None):
    from agent.context import AgentContext, Sizes

    return AgentContext.create(settings, session_id=session_id, autopilot=autopilot,
                               out_dir=out, sizes=Sizes.tiny() if tiny else Sizes(),
                               on_event=_printer)


def _converse(sessions, turn, ctx) -> object:
    """Show each pause and read the user's reply until the graph ends."""
    while turn.interrupt is not None:
        console.print(Markdown(turn.message))
        hint = hint_line(pause_view(turn.interrupt))  # the buttons other front ends show
        if hint:
            console.print(hint, style="dim", markup=False, highlight=False)
        try:
            reply = typer.prompt("you", default="", show_default=False)
        except (EOFError, typer.Abort):
            console.print(f"\nPaused. Resume with: p2m chat --session {turn.session_id}")
            raise typer.Exit(0)
        turn = sessions.reply(turn.session_id, reply, ctx)
    return turn


def _finish(turn, json_out: bool) -> None:
    st = turn.state
    if json_out:
        best = dict((st.get("best") or {}).get("summary") or {})
        if st.get("estimate"):  # the number to deploy on: held-out rows, with interval and source
            best.update({k: st["estimate"].get(k) for k in ("student", "student_ci", "teacher", "base",
                                                            "eval_source", "n", "warnings")},
                        selected_on=best.get("eval_source"), selected_student=best.get("student"))
        typer.echo(json.dumps({"session_id": turn.session_id, "done": turn.done,
                               "error": st.get("error") or None, "export_path": st.get("export_path"),
                               "best": best, "decisions": st.get("decisions"),
                               "spent": st.get("spent")}, indent=1, default=str))
    else:
        console.print(Markdown(turn.message))
        console.print(f"\nsession: {turn.session_id}  (p2m chat --session {turn.session_id})")
    if st.get("error"):
        raise typer.Exit(1)


@user_errors
def run(description: str = typer.Argument("", help="The task, as you would prompt an LLM, with examples."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Autopilot: take the default at every question."),
        data: list[Path] = typer.Option([], "--data", help="Your own labeled file (CSV/JSONL/parquet)."),
        catalog: list[Path] = typer.Option([], "--catalog", help="A local folder of datasets to search."),
        out: str = typer.Option(None, "--out", help="Export folder root (default P2M_HOME/exports)."),
        budget_calls: int = typer.Option(None, "--budget-calls", help="Max LLM calls."),
        budget_minutes: float = typer.Option(None, "--budget-minutes", help="Max wall-clock minutes."),
        rounds: int = typer.Option(None, "--rounds", help="Max generate/train/evaluate rounds."),
        tiny: bool = typer.Option(False, "--tiny", help="Tiny sizes (smoke tests)."),
        json_out: bool = typer.Option(False, "--json", help="Print the outcome as JSON.")) -> None:
    """Run the whole loop: description -> data -> training -> evaluation -> exported folder."""
    from agent.sessions import Sessions
    from tools.llm.embedded_models import describe
    from tools.settings import get_settings

    if not description.strip():
        typer.secho("error: the task description is empty. Example:\n  p2m run --yes \"Classify "
                    "tickets as billing, technical or other. 'I was charged twice' -> billing\"",
                    fg="red", err=True)
        raise typer.Exit(2)
    from tools.hub.user_files import UnusableFile, check_user_file

    for p in catalog:
        if not p.exists():
            typer.secho(f"error: {p} does not exist", fg="red", err=True)
            raise typer.Exit(2)
    for p in data:  # before any LLM call: the reason, not a late "give a labeled file"
        try:
            check_user_file(p)
        except UnusableFile as e:
            typer.secho(f"error: --data {e}", fg="red", err=True)
            raise typer.Exit(2)
    settings = get_settings()
    from tools.store import Store

    Store(settings).ingest()  # a damaged or locked store says so now, not after paid calls
    if settings.uses_embedded and not json_out:
        console.print(f"[yellow]{describe(settings)}[/yellow]")
    budget = {k: v for k, v in {"max_llm_calls": budget_calls, "max_minutes": budget_minutes,
                                "max_rounds": rounds}.items() if v is not None}
    sessions = Sessions(settings)
    ctx = _context(settings, autopilot=yes, out=out, tiny=tiny, session_id=None)
    turn = sessions.start(description, ctx, catalogs=[str(c) for c in catalog],
                          data_files=[str(d) for d in data], budget=budget)
    if not json_out:
        console.print(f"session: {turn.session_id}")
    _finish(_converse(sessions, turn, ctx), json_out)


@user_errors
def chat(session: str = typer.Option(None, "--session", "-s", help="Resume this session."),
         yes: bool = typer.Option(False, "--yes", "-y", help="Autopilot from here on."),
         tiny: bool = typer.Option(False, "--tiny", help="Tiny sizes (smoke tests)."),
         json_out: bool = typer.Option(False, "--json", help="Print the outcome as JSON.")) -> None:
    """Talk to the assistant: start a new task, or resume a saved session."""
    from agent.sessions import Sessions
    from tools.settings import get_settings

    settings = get_settings()
    from tools.store import Store

    Store(settings).ingest()  # a damaged or locked store says so now, not after paid calls
    sessions = Sessions(settings)
    ctx = _context(settings, autopilot=yes, out=None, tiny=tiny, session_id=session)
    if session:
        try:
            turn = sessions.resume(session, ctx)
        except KeyError as e:
            typer.secho(f"error: {e.args[0]}", fg="red", err=True)
            raise typer.Exit(2)
        if turn.interrupt is not None and yes:  # autopilot answers a pending pause with the default
            turn = sessions.reply(session, "", ctx)
        if not json_out:
            for m in turn.state.get("messages", [])[-4:]:
                console.print(f"[bold]{m['role']}:[/bold] {m['content']}")
    else:
        description = typer.prompt("Describe the task (with a few examples)")
        if not description.strip():
            typer.secho("error: the description is empty", fg="red", err=True)
            raise typer.Exit(2)
        turn = sessions.start(description, ctx)
    _finish(_converse(sessions, turn, ctx), json_out)


@sessions_app.command("list")
@user_errors
def sessions_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """Saved sessions, newest first."""
    from tools.settings import get_settings
    from tools.store import Store

    rows = Store(get_settings()).query(
        "SELECT id, status, title, updated_at FROM sessions ORDER BY updated_at DESC LIMIT 50")
    if json_out:
        typer.echo(json.dumps(rows, default=str, indent=1))
        return
    for r in rows:
        console.print(f"{r['id']}  {r['status']:<8} {str(r['updated_at'])[:19]}  {r['title']}")
    if not rows:
        console.print("no sessions yet: start one with p2m run or p2m chat")


@sessions_app.command("show")
@user_errors
def sessions_show(session: str) -> None:
    """The session's spec, rounds, decisions and export."""
    from agent.sessions import Sessions
    from tools.settings import get_settings

    st = Sessions(get_settings()).state(session).state
    if not st:
        typer.secho(f"error: no session {session!r}", fg="red", err=True)
        raise typer.Exit(2)
    console.print_json(json.dumps({k: st.get(k) for k in ("spec", "eval_source", "decisions",
                                                          "spent", "export_path", "error")}, default=str))
    for r in st.get("rounds") or []:
        console.print(r["summary"])


@sessions_app.command("resume")
@user_errors
def sessions_resume(session: str, yes: bool = typer.Option(False, "--yes", "-y"),
                    tiny: bool = typer.Option(False, "--tiny"),
                    json_out: bool = typer.Option(False, "--json")) -> None:
    """Continue a session (same as p2m chat --session ID)."""
    chat(session=session, yes=yes, tiny=tiny, json_out=json_out)


@user_errors
def report(session: str) -> None:
    """Student vs teacher vs base, with intervals, for each round of a session."""
    from agent.sessions import Sessions
    from tools.contracts import RunResult
    from tools.evaluate import summary_table
    from tools.settings import get_settings

    st = Sessions(get_settings()).state(session).state
    if not st.get("rounds"):
        typer.secho(f"error: session {session!r} has no evaluated round yet", fg="red", err=True)
        raise typer.Exit(2)
    for r in st["rounds"]:
        s = r["summary"]
        console.print(f"[bold]round {s['round']}[/bold] on {s.get('eval_source')}")
        console.print(summary_table(RunResult.model_validate(r["result"])))
    if st.get("estimate"):
        from agent.nodes.export import estimate_line

        console.print(f"[bold]estimate[/bold] (the exported model, once): {estimate_line(st['estimate'])}")
        for w in st["estimate"].get("warnings") or []:
            console.print(f"[yellow]warning:[/yellow] {w}")
    if st.get("export_path"):
        console.print(f"export: {st['export_path']}")


def register(app: typer.Typer) -> None:
    """Mount these commands on the root `p2m` app."""
    app.command()(run)
    app.command()(chat)
    app.command()(report)
    app.add_typer(sessions_app, name="sessions")
