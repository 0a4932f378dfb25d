"""Self-consistency: the teacher answers a generated input again and must agree.

The answer uses the teacher's task prompt (tools.evaluate.prompts: the
instruction, the demonstrations as chat turns, a label enum for classifiers),
the same prompt that scores the teacher and labels real text, so "agrees"
means "the teacher, doing the task, gives this output".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tools.contracts import Example, TaskSpec
from tools.evaluate.prompts import answer_schema, teacher_messages
from tools.llm.errors import LLMError
from tools.synth import filters as F
from tools.synth.config import SynthConfig
from tools.synth.plan import request_seed


def teacher_answer(spec: TaskSpec, client, text: str, *, purpose: str, max_chars: int,
                   temperature: float = 0.0, seed: int | None = None) -> str | None:
    """The teacher's constrained answer for one input, or None when unusable."""
    try:
        got = client.structured(teacher_messages(spec, text), answer_schema(spec, max_chars),
                                purpose=purpose, temperature=temperature,
                                max_tokens=max_chars // 3 + 16, retries=0, seed=seed)
        return str(got.output)
    except LLMError:
        return None  # an unusable answer is a vote that does not agree


def check_consistency(spec: TaskSpec, client, cfg: SynthConfig, examples: list[Example],
                      round_: int) -> list[float]:
    """Ask k answers per example, set its `consistency` verdict; returns the agreement shares."""
    k = cfg.consistency_k
    jobs = [(ex, j) for ex in examples for j in range(k)]

    def one(job):
        ex, j = job
        return teacher_answer(spec, client, ex.input, purpose="synth.consistency",
                              max_chars=cfg.output_chars(spec),
                              temperature=0.0 if j == 0 else cfg.consistency_temperature,
                              seed=None if j == 0 else request_seed(
                                  "answer", round_, ex.params.get("request_id"), j))

    with ThreadPoolExecutor(max_workers=max(1, cfg.concurrency)) as pool:
        answers = list(pool.map(one, jobs))
    shares = []
    for i, ex in enumerate(examples):
        got = answers[i * k:(i + 1) * k]
        votes = sum(1 for a in got if a is not None and F.agrees(spec, cfg, ex.output, a))
        shares.append(votes / k)
        ex.params["consistency_answers"] = got
        ex.verdicts["consistency"] = F.PASS if votes * 2 > k else (
            f"{votes} of {k} teacher answers agree with {ex.output[:40]!r} "
            f"(answers: {[a if a is None else a[:40] for a in got]})")
    return shares
