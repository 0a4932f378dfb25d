"""The attribute grid that varies requests: teacher-proposed, with a fixed fallback."""

from __future__ import annotations

from tools.contracts import TaskSpec
from tools.llm.errors import LLMError
from tools.synth import prompts
from tools.synth.config import AttributeGrid, ProposedAttributes


def fallback_attributes() -> AttributeGrid:
    """Generic topics and styles, used when the teacher cannot propose any."""
    return AttributeGrid(topics=list(prompts.FALLBACK_TOPICS), styles=list(prompts.FALLBACK_STYLES),
                         source="fallback")


def propose_attributes(spec: TaskSpec, client) -> tuple[AttributeGrid, str | None]:
    """Ask the teacher for topics and styles that suit `spec`, once (the cache keeps it).

    Returns (grid, problem): on any failure the fallback grid and why it was used,
    so the report can say so instead of hiding it.
    """
    try:
        got = client.structured(prompts.render_attributes(spec), ProposedAttributes,
                                purpose="synth.attributes", temperature=0, max_tokens=400,
                                retries=1)
    except LLMError as e:
        return fallback_attributes(), f"attribute proposal failed, using generic topics: {e}"
    topics = _unique(got.topics)
    styles = _unique(got.styles)
    if len(topics) < 2:
        return fallback_attributes(), "the teacher proposed fewer than 2 distinct topics"
    return AttributeGrid(topics=topics, styles=styles or list(prompts.FALLBACK_STYLES),
                         source="teacher"), None


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for x in items:
        key = " ".join(x.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(x.split()))
    return out
