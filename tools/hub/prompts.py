"""Every LLM prompt the hub tools send, in one place (pinned by tests/test_hub_prompts.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field

RERANK_SYSTEM = (
    "You rank datasets for a machine-learning task. Prefer datasets whose inputs and "
    "outputs match the task directly. Answer with the candidate numbers, best first."
)


class RerankAnswer(BaseModel):
    """Candidate numbers (1-based) in order of fit, best first."""

    ranking: list[int] = Field(description="candidate numbers, best first", max_length=40)


def rerank_messages(task: str, candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Messages asking to order (id, description) candidates for `task`."""
    lines = "\n".join(f"{i}. {cid}: {desc[:200]}" for i, (cid, desc) in enumerate(candidates, 1))
    return [("system", RERANK_SYSTEM),
            ("user", f"Task: {task[:1000]}\n\nCandidates:\n{lines}\n\nRank the candidates.")]


MAPPING_SYSTEM = (
    "You map dataset columns to a task's input and output. Use only column names that "
    "appear in the list. If no column fits, answer with an empty string for it."
)


class MappingAnswer(BaseModel):
    """Columns that hold the task's input and output."""

    input: str = Field(description="column holding the task input", max_length=100)
    output: str = Field(description="column holding the task output", max_length=100)


def mapping_messages(instruction: str, kind: str, labels: list[str], columns: list[str],
                     sample: list[dict]) -> list[tuple[str, str]]:
    """Messages asking which columns are the input and the output."""
    rows = "\n".join(str({k: str(v)[:80] for k, v in r.items()}) for r in sample[:3])
    label_line = f"Labels: {', '.join(labels)}\n" if labels else ""
    return [("system", MAPPING_SYSTEM),
            ("user", f"Task ({kind}): {instruction[:600]}\n{label_line}"
                     f"Columns: {', '.join(columns)}\nSample rows:\n{rows}\n\n"
                     "Which column is the input and which is the output?")]
