"""Run-scoped context handed to every node: the live objects that are not state.

Front ends build one per invocation (`AgentContext.create(...)`); it is not
checkpointed, so a session resumed from another front end gets a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from tools.settings import Settings, get_settings


@dataclass
class Sizes:
    """How much work a round does. `tiny()` is for tests and smoke runs."""

    synth_per_round: int | None = None
    """Cap on synthetic examples per round; None: as many as the time and call budget
    buy (agent.budget.plan_round: hundreds per round from the embedded teacher)."""
    max_retrieved_rows: int | None = None
    """Cap on rows taken from one retrieved dataset; None: as many as `train_minutes` can pay
    for (tools.train.budget.affordable_rows), instead of a fixed 6,000."""
    eval_rows: int = 300
    """Held-out rows the student and base model are scored on."""
    teacher_eval_rows: int = 100
    """Rows the teacher is scored on (each one is a paid call)."""
    train_minutes: float = 10.0
    """Time budget of one training run."""
    self_consistency_k: int = 0
    """Teacher re-answers per synthetic example (0: off; costs k calls each)."""

    def __post_init__(self) -> None:
        if self.max_retrieved_rows is None:
            from tools.train.budget import affordable_rows

            self.max_retrieved_rows = affordable_rows(self.train_minutes)

    @classmethod
    def tiny(cls) -> "Sizes":
        return cls(synth_per_round=6, max_retrieved_rows=300, eval_rows=40,
                   teacher_eval_rows=8, train_minutes=2.0)


@dataclass
class AgentContext:
    """Settings, LLM client, store and knobs for one invocation of the graph."""

    settings: Settings
    client: Any
    """tools.llm.LLMClient (tests inject one over a fake chat model)."""
    store: Any
    """tools.store.Store: every session records its spec, examples, decisions and calls."""
    autopilot: bool = False
    """Take the default at every interrupt (p2m run --yes)."""
    sizes: Sizes = field(default_factory=Sizes)
    out_dir: str | None = None
    """Where to export; default P2M_HOME/exports/<session>."""
    on_event: Callable[[str, dict], None] | None = None
    """Progress callback for front ends: (kind, payload)."""

    @classmethod
    def create(cls, settings: Settings | None = None, *, session_id: str | None = None,
               chat_model=None, **kw) -> "AgentContext":
        """Build the real context: store under P2M_HOME and a client bound to it."""
        from tools.llm import LLMClient
        from tools.network import effective_settings
        from tools.store import Store

        settings = effective_settings((settings or get_settings()).ensure_dirs())
        store = Store(settings)
        client = LLMClient(settings, store=store, chat_model=chat_model, session_id=session_id)
        return cls(settings=settings, client=client, store=store, **kw)

    def emit(self, kind: str, **payload) -> None:
        """Tell the front end about progress (never raises into the graph)."""
        if self.on_event is not None:
            try:
                self.on_event(kind, payload)
            except Exception:  # noqa: BLE001 - a broken UI callback must not kill a run
                pass
