"""Deterministic request construction: the same (spec, round, index) gives the same request.

That determinism is what makes a killed round resumable for free: a re-run
rebuilds every request byte for byte, so the LLM cache answers the ones already
paid for. All randomness comes from an RNG seeded by (round, index), never from
the clock or Python's per-process hash seed.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field

from tools.contracts import Example, TaskSpec
from tools.synth import prompts
from tools.synth.config import AttributeGrid, SynthConfig


@dataclass
class Request:
    """One planned generation call and the parameters recorded on its example."""

    index: int
    messages: list[tuple[str, str]]
    temperature: float
    seed: int
    params: dict = field(default_factory=dict)


def request_seed(*parts) -> int:
    """A stable 31-bit seed from the parts (same across processes and runs)."""
    return zlib.crc32(":".join(str(p) for p in parts).encode()) & 0x7FFFFFFF


def rng_for(*parts) -> random.Random:
    """A private RNG for one request; str seeds hash with SHA-512, stable across runs."""
    return random.Random(":".join(str(p) for p in parts))


def assign_labels(labels: list[str], accepted: dict[str, int], rejected: dict[str, int],
                  size: int, start: int) -> list[str]:
    """Labels to ask for in the next `size` requests, balancing accepted counts on purpose.

    Each request asks for the label with the fewest accepted examples; a rejected
    attempt counts a quarter, so a label the teacher cannot produce does not
    swallow every request. Ties rotate with the request index.
    """
    if not labels:
        return [None] * size  # type: ignore[list-item]
    score = {lab: accepted.get(lab, 0) + 0.25 * rejected.get(lab, 0) for lab in labels}
    out = []
    for j in range(size):
        k = (start + j) % len(labels)
        pick = min(labels[k:] + labels[:k], key=lambda lab: score[lab])
        score[pick] += 1
        out.append(pick)
    return out


def plan_generate(spec: TaskSpec, config: SynthConfig, grid: AttributeGrid, *, round: int,
                  index: int, n: int, pool: list[Example], label: str | None) -> Request:
    """The request for generation `index` of `round`, given earlier accepted `pool`."""
    rng = rng_for("synth", round, index)
    demos = [(d.input, d.output) for d in spec.demonstrations]
    pairs = rng.sample(demos, min(config.demos_per_prompt, len(demos)))
    shown = rng.sample(pool, min(config.pool_per_prompt, len(pool)))
    pairs += [(e.input, e.output) for e in shown]
    rng.shuffle(pairs)
    attrs = {"topic": rng.choice(grid.topics), "style": rng.choice(grid.styles),
             "length": rng.choice(prompts.LENGTHS), "difficulty": rng.choice(prompts.DIFFICULTIES)}
    messages = prompts.render_generate(spec, pairs, label=label, **attrs)
    temperature = config.temperature(index, n)
    seed = request_seed("synth", round, index)
    params = {"round": round, "index": index, "temperature": temperature, "seed": seed,
              **attrs, "requested_label": label, "demos_shown": len(pairs) - len(shown),
              "pool_shown": len(shown)}
    return Request(index, messages, temperature, seed, params)


def plan_targeted(spec: TaskSpec, config: SynthConfig, *, round: int, index: int, n: int,
                  failures: list[tuple[str, str]]) -> Request:
    """A request for a new example near one or two of the `failures` (input, expected)."""
    rng = rng_for("targeted", round, index)
    picked = rng.sample(failures, min(2, len(failures)))
    label = picked[0][1] if spec.kind == "classification" and picked[0][1] in spec.labels else None
    messages = prompts.render_targeted(spec, picked, label=label)
    temperature = config.temperature(index, n)
    seed = request_seed("targeted", round, index)
    params = {"round": round, "index": index, "temperature": temperature, "seed": seed,
              "targeted": True, "near": [i for i, _ in picked], "requested_label": label}
    return Request(index, messages, temperature, seed, params)
