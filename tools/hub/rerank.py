"""Optional LLM rerank of search candidates through the injected client."""

from __future__ import annotations

from tools.contracts import Candidate, TaskSpec
from tools.hub.prompts import RerankAnswer, rerank_messages


def llm_rerank(client, query: str, candidates: list[Candidate],
               spec: TaskSpec | None = None) -> tuple[list[Candidate], str | None]:
    """Reorder candidates by the LLM's ranking; on any failure keep the fused order.

    Unknown or repeated numbers are ignored and unranked candidates keep their
    relative order after the ranked ones, so a weak model can't drop results.
    """
    if len(candidates) < 2:
        return candidates, None
    task = spec.instruction if spec else query
    msgs = rerank_messages(task, [(c.id, c.why) for c in candidates])
    try:
        answer = client.structured(msgs, RerankAnswer, purpose="rerank")
    except Exception as e:  # StructuredOutputError, network, timeouts: rerank is optional
        return candidates, f"LLM rerank skipped ({type(e).__name__}); fused order kept"
    seen, order = set(), []
    for n in answer.ranking:
        if isinstance(n, int) and 1 <= n <= len(candidates) and n not in seen:
            seen.add(n)
            order.append(candidates[n - 1])
    order += [c for i, c in enumerate(candidates, 1) if i not in seen]
    return order, None
