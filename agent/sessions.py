"""Sessions: start, resume and inspect a conversation from any front end.

The LangGraph thread id is the session id; graph state lives in LangGraph's
SQLite checkpointer under P2M_HOME (safe with several processes), and the
session's title and status are mirrored in DuckDB for `p2m sessions list`.
A session killed at any step resumes from its last completed step: the LLM
cache and resumable training jobs make the repeated step cheap.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from langgraph.types import Command

from agent.context import AgentContext, Sizes
from agent.graph import make_graph
from agent.state import last_assistant, say


def valid_session_id(session_id: str) -> bool:
    """Session ids become folder names (runs/<id>, uploads/<id>): no separators, no '..'."""
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", session_id or "")) and ".." not in session_id


@dataclass
class Turn:
    """What one call into the graph ended with."""

    session_id: str
    state: dict
    interrupt: dict | None = None
    """The pending question/approval payload, when the graph is waiting for the user."""
    done: bool = False
    """True when the graph reached its end (exported, or stopped with a message)."""
    updates: list[dict] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.interrupt:
            note = self.interrupt.get("note")
            return (f"{note}\n\n" if note else "") + self.interrupt.get("message", "")
        return last_assistant(self.state)


class Sessions:
    """The compiled graph over a SQLite checkpointer, plus run/resume helpers."""

    def __init__(self, settings, overrides: dict | None = None):
        from langgraph.checkpoint.sqlite import SqliteSaver

        from tools.store.errors import damaged_checkpoints

        self.settings = settings.ensure_dirs()
        conn = sqlite3.connect(str(settings.checkpoints_path), check_same_thread=False,
                               timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the schema pages
        except sqlite3.OperationalError:
            raise  # e.g. locked: not damage
        except sqlite3.DatabaseError as e:  # "file is not a database", "disk image is malformed"
            conn.close()
            raise damaged_checkpoints(settings.checkpoints_path, str(e)) from None
        self.saver = SqliteSaver(conn)
        self.graph = make_graph(self.saver, overrides)

    @staticmethod
    def config(session_id: str) -> dict:
        return {"configurable": {"thread_id": session_id}, "recursion_limit": 200}

    def exists(self, session_id: str) -> bool:
        return bool(self.graph.get_state(self.config(session_id)).values)

    def start(self, description: str, ctx: AgentContext, *, session_id: str | None = None,
              catalogs: list[str] = (), data_files: list[str] = (),
              budget: dict | None = None) -> Turn:
        """A new session for `description`; runs until the first pause or the end."""
        session_id = session_id or uuid.uuid4().hex[:12]
        if not valid_session_id(session_id):  # it names folders under P2M_HOME: no paths
            raise ValueError(f"session id {session_id[:80]!r} is not valid: use letters, digits, '.', '-', '_'")
        ctx.client.session_id = session_id
        inputs = {"session_id": session_id, "description": description,
                  "messages": [{"role": "user", "content": description, "kind": "description"}],
                  "catalogs": [str(c) for c in catalogs], "data_files": [str(f) for f in data_files],
                  "budget": budget or {}, "sizes": asdict(ctx.sizes)}
        return self._run(inputs, session_id, ctx)

    def reply(self, session_id: str, text: str, ctx: AgentContext) -> Turn:
        """Answer the pending question (or continue an interrupted run)."""
        ctx.client.session_id = session_id
        snap = self.graph.get_state(self.config(session_id))
        if not snap.values:
            raise KeyError(f"No session {session_id!r}. `p2m sessions list` shows the saved ones.")
        if snap.interrupts:
            return self._run(Command(resume=text), session_id, ctx)
        return self._run(None, session_id, ctx)

    def resume(self, session_id: str, ctx: AgentContext) -> Turn:
        """Continue after a crash or from another front end, without new input."""
        ctx.client.session_id = session_id
        snap = self.graph.get_state(self.config(session_id))
        if not snap.values:
            raise KeyError(f"No session {session_id!r}. `p2m sessions list` shows the saved ones.")
        if snap.interrupts:
            return self._turn(session_id, [])
        if not snap.next:
            if not self._ended_without_outcome(snap.values):
                return self._turn(session_id, [])
            # A kill between a step's writes and its checkpoint can end the graph with
            # neither an export nor an error: decide again from the last evaluation.
            self.graph.update_state(self.config(session_id), {}, as_node="evaluate")
        return self._run(None, session_id, ctx)

    @staticmethod
    def _ended_without_outcome(values: dict) -> bool:
        return bool(values.get("rounds")) and not values.get("export_path") and not values.get("error")

    def state(self, session_id: str) -> Turn:
        """The session as it stands (no graph step runs)."""
        return self._turn(session_id, [])

    def _run(self, inputs: Any, session_id: str, ctx: AgentContext) -> Turn:
        from tools.llm.probe import check_endpoint

        check_endpoint(ctx.client)  # an endpoint that cannot answer stops here, with its real message
        saved = self.graph.get_state(self.config(session_id)).values.get("sizes")
        if saved:  # a resumed session keeps the sizes it started with, in any front end
            ctx.sizes = Sizes(**saved)
        updates = []
        for chunk in self.graph.stream(inputs, self.config(session_id), context=ctx,
                                       stream_mode="updates"):
            updates.append(chunk)
            for node, upd in chunk.items():
                if node != "__interrupt__":
                    ctx.emit("node", node=node, keys=sorted((upd or {}).keys()))
        turn = self._turn(session_id, updates)
        if turn.done and turn.state.get("error"):
            turn = self._say_if_every_call_failed(turn, ctx)
        status = "waiting" if turn.interrupt else ("done" if turn.done else "running")
        if turn.state.get("error"):
            status = "stopped"
        ctx.store.upsert_session(session_id, (turn.state.get("description") or "")[:80], status)
        return turn

    def _say_if_every_call_failed(self, turn: Turn, ctx: AgentContext) -> Turn:
        """A run that stopped after every LLM call failed ends by saying so, with the first error."""
        from tools.llm.probe import failed_calls_note

        note = failed_calls_note(ctx.store, turn.session_id)
        last = next((n for chunk in reversed(turn.updates) for n in chunk if n != "__interrupt__"), None)
        if not note or not last:
            return turn
        # as the node that stopped the run: its router sees the same error and ends again
        self.graph.update_state(self.config(turn.session_id), say(note, "error"), as_node=last)
        return self._turn(turn.session_id, turn.updates)

    def _turn(self, session_id: str, updates: list) -> Turn:
        snap = self.graph.get_state(self.config(session_id))
        interrupt = snap.interrupts[0].value if snap.interrupts else None
        return Turn(session_id=session_id, state=dict(snap.values), interrupt=interrupt,
                    done=not snap.next and not snap.interrupts, updates=updates)
