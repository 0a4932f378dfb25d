"""The agent's state: what the graph remembers between steps and across restarts.

Everything here is plain JSON (dicts, lists, strings, numbers) so the SQLite
checkpointer stores it without custom serializers; pydantic contracts are
dumped with `model_dump()` on the way in and rebuilt with `model_validate()`
where a node needs them. Bulk data (examples, checkpoints) lives in the store
and under P2M_HOME, never in the state.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class AgentState(TypedDict, total=False):
    """State of one session (the LangGraph thread id is the session id)."""

    session_id: str
    """Same as the thread id; stored with each row the session writes."""

    description: str
    """The user's task description, as typed."""

    messages: Annotated[list[dict], operator.add]
    """The conversation as {"role": "user"|"assistant", "content", "kind"} dicts, appended."""

    sizes: dict
    """Work sizes the session started with (agent.context.Sizes), kept across resumes."""

    budget: dict
    """Budget limits the user gave when starting (Budget fields), applied by intake."""

    spec: dict
    """The current TaskSpec (model_dump). Its `version` grows with every edit."""

    parse_notes: list[str]
    """Where parts of the spec came from (text, model) and what was dropped; confirm_spec shows them."""

    questions_asked: int
    """Clarifying questions asked so far (bounded by MAX_QUESTIONS)."""

    answered: list[str]
    """Clarifying questions asked and the user's answers ("question -> answer"), for the clarifier."""

    asked_gaps: list[str]
    """Kinds of the gaps already asked about (agent/gaps.py), so none is asked twice."""

    spec_diff: list[str]
    """The last change to the spec, as diff lines, shown at the next approval."""

    spec_ignored: list[str]
    """What the last reply said that was not applied, and why (shown with the diff)."""

    pending_question: str
    """A question `decide` wants asked (errors cluster on unclear cases)."""

    approved: bool
    """True once the user (or autopilot) approved the current spec and budget."""

    catalogs: list[str]
    """Local catalog folders the user pointed at (searched along with the Hub index)."""

    data_files: list[str]
    """The user's own labeled files (CSV/JSONL/parquet) to train on."""

    chosen_data: list[dict]
    """Datasets the user or autopilot picked; their rows are in the store."""

    chosen_model: dict
    """The base model for the current round (Candidate dump)."""

    eval_source: str
    """Where the held-out test split comes from (a real test split, or held-out data)."""

    round: int
    """The current generate/train/evaluate round, from 1."""

    rounds: Annotated[list[dict], operator.add]
    """One summary per finished round: data report, run result, timings."""

    decisions: Annotated[list[dict], operator.add]
    """What `decide` chose after each round, with the reason."""

    next_action: str
    """The action `decide` chose: generate | train | clarify | export."""

    train_overrides: dict
    """Hyperparameter changes decided for the next training (epochs, model)."""

    failures: list[dict]
    """Failure groups of the latest evaluation, for targeted generation."""

    last_run: dict
    """The latest training run: run_id, model_path, train_seconds, hyperparameters."""

    best: dict
    """The best round's RunResult dump so far."""

    spent: dict
    """Budget used so far: llm_calls, tokens, minutes."""

    started_at: float
    """Unix time the session started (wall-time budget)."""

    estimate: dict
    """The exported model's score on the held-out rows nothing was chosen on: student,
    student_ci [low, high], teacher, base, metric, n, eval_source, warnings."""

    export_path: str
    """The exported folder, once `export` ran."""

    error: str
    """Set when a step failed in a way the user must act on."""


def last_assistant(state: dict[str, Any]) -> str:
    """The last thing the assistant said (front ends show it)."""
    for m in reversed(state.get("messages") or []):
        if m.get("role") == "assistant":
            return m.get("content", "")
    return ""


def say(content: str, kind: str = "text") -> dict:
    """A messages update with one assistant message."""
    return {"messages": [{"role": "assistant", "content": content, "kind": kind}]}
