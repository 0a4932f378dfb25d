"""The attribute grid that varies requests: subjects per label proposed by the teacher.

A classifier needs inputs of every label from many situations: "Sports" news
about tennis, transfers, doping; "World" news about elections, floods. So the
teacher proposes subjects for each label (one cached call per label), plus
writing styles; a text-to-text task gets one list for the whole task. The grid
is recorded with the round. When every subject of a label is retired (the
teacher repeats itself on them), `more_topics` asks for new ones.
"""

from __future__ import annotations

from tools.contracts import TaskSpec
from tools.llm.errors import LLMError
from tools.synth import prompts
from tools.synth.config import ANY, AttributeGrid, ProposedAttributes


def fallback_attributes(spec: TaskSpec | None = None) -> AttributeGrid:
    """Generic subjects and styles, used when the teacher cannot propose any."""
    return AttributeGrid(topics={ANY: list(prompts.FALLBACK_TOPICS)},
                         styles=list(prompts.FALLBACK_STYLES), source="fallback")


def _targets(spec: TaskSpec) -> list[str | None]:
    return list(spec.labels) if spec.kind == "classification" and spec.labels else [None]


def _ask(spec: TaskSpec, client, label: str | None, n: int, avoid: list[str] | None = None,
         seed: int | None = None) -> ProposedAttributes:
    return client.structured(prompts.render_attributes(spec, label, n, avoid), ProposedAttributes,
                             purpose="synth.attributes", temperature=0.7 if avoid else 0.0,
                             max_tokens=60 + 20 * n, retries=1, seed=seed)


def propose_attributes(spec: TaskSpec, client, n: int = 10) -> tuple[AttributeGrid, list[str]]:
    """Ask the teacher for subjects per label (or for the task) and styles (cached calls).

    Returns (grid, problems): a label whose proposal failed gets the generic
    subjects, and the problem is said in the round's report rather than hidden.
    """
    topics: dict[str, list[str]] = {}
    styles: list[str] = []
    problems: list[str] = []
    for label in _targets(spec):
        key = label if label is not None else ANY
        try:
            got = _ask(spec, client, label, n)
        except LLMError as e:
            problems.append(f"subject proposal for {key!r} failed, using generic subjects: {str(e)[:200]}")
            topics[key] = list(prompts.FALLBACK_TOPICS)
            continue
        mine = unique(got.topics)
        topics[key] = mine if len(mine) >= 2 else list(prompts.FALLBACK_TOPICS)
        if len(mine) < 2:
            problems.append(f"the teacher proposed fewer than 2 distinct subjects for {key!r}")
        styles = unique(styles + got.styles)
    if all(v == list(prompts.FALLBACK_TOPICS) for v in topics.values()):
        return fallback_attributes(), problems
    return AttributeGrid(topics=topics, styles=(styles or list(prompts.FALLBACK_STYLES))[:12],
                         source="teacher"), problems


def more_topics(spec: TaskSpec, client, label: str | None, used: list[str], n: int,
                attempt: int) -> list[str]:
    """New subjects for `label`, unlike the `used` ones; [] when the teacher gives none."""
    try:
        got = _ask(spec, client, label, n, avoid=used, seed=attempt)
    except LLMError:
        return []
    seen = {_key(u) for u in used}
    return [t for t in unique(got.topics) if _key(t) not in seen]


def _key(x: str) -> str:
    return " ".join(x.lower().split())


def unique(items: list[str]) -> list[str]:
    """Items without case/space duplicates, order kept."""
    seen, out = set(), []
    for x in items:
        key = _key(x)
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(x.split()))
    return out
