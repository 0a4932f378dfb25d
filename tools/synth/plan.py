"""Deterministic request construction: the same (spec, round, index, snapshot) gives the same request.

That determinism is what makes a killed round resumable for free: a re-run
rebuilds every request byte for byte, so the LLM cache answers the ones already
paid for. All randomness comes from an RNG seeded by (round, index), never from
the clock or Python's per-process hash seed; what a request depends on from
earlier results (label balance, retired subjects) is a snapshot taken at a
fixed earlier request index, never "whatever had finished by then".
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field

from tools.contracts import TaskSpec
from tools.synth import prompts
from tools.synth.config import AttributeGrid, SynthConfig


@dataclass
class Request:
    """One planned generation call and the parameters recorded on its examples."""

    index: int
    messages: list[tuple[str, str]]
    temperature: float
    seed: int
    label: str | None
    items: list[dict]
    """Per-item attributes (topic, style, length), in the order the teacher is asked."""
    params: dict = field(default_factory=dict)
    targeted: bool = False


def request_seed(*parts) -> int:
    """A stable 31-bit seed from the parts (same across processes and runs)."""
    return zlib.crc32(":".join(str(p) for p in parts).encode()) & 0x7FFFFFFF


def rng_for(*parts) -> random.Random:
    """A private RNG for one request; str seeds hash with SHA-512, stable across runs."""
    return random.Random(":".join(str(p) for p in parts))


def pick_label(labels: list[str], accepted: dict[str, int], planned: dict[str, int],
               rate: float, k: int, index: int, rejected: dict[str, int] | None = None) -> str | None:
    """The label the next request asks for: the one furthest behind, counting what
    earlier planned requests will probably add (k items x acceptance rate each).
    A rejected item counts a quarter, so a label the teacher cannot produce does not
    swallow every request. Ties rotate with the request index."""
    if not labels:
        return None
    rejected = rejected or {}
    score = {lab: accepted.get(lab, 0) + 0.25 * rejected.get(lab, 0) + planned.get(lab, 0) * k * rate
             for lab in labels}
    start = index % len(labels)
    return min(labels[start:] + labels[:start], key=lambda lab: score[lab])


def _items(rng: random.Random, topics: list[str], styles: list[str], k: int,
           lengths: tuple[str, ...] = prompts.LENGTHS) -> list[dict]:
    picked = rng.sample(topics, k) if len(topics) >= k else [rng.choice(topics) for _ in range(k)]
    return [{"topic": t, "style": rng.choice(styles), "length": rng.choice(lengths)} for t in picked]


def demo_pairs(spec: TaskSpec, config: SynthConfig, rng: random.Random) -> list[tuple[str, str]]:
    """Demonstrations shown with every request of the round: a fixed, seeded choice, so
    the prompt's head is the same for every request and the server reuses its cache."""
    demos = [(d.input, d.output) for d in spec.demonstrations]
    return rng.sample(demos, min(config.demos_per_prompt, len(demos)))


def plan_generate(spec: TaskSpec, config: SynthConfig, grid: AttributeGrid, *, round: int,
                  index: int, n_requests: int, label: str | None,
                  retired: frozenset[str] = frozenset()) -> Request:
    """The request for generation `index` of `round`, asking for k items of `label`."""
    rng = rng_for("synth", round, index)
    topics = [t for t in grid.for_label(label) if t not in retired] or grid.for_label(label)
    items = _items(rng, topics, grid.styles, config.items_per_request,
                   prompts.input_lengths(spec, config.max_input_chars))
    pairs = demo_pairs(spec, config, rng_for("demos", round))
    as_label = label if spec.kind == "classification" else None
    messages = prompts.render_generate(spec, pairs, items, as_label)
    temperature = config.temperature(index, n_requests)
    seed = request_seed("synth", round, index)
    params = {"round": round, "index": index, "temperature": temperature, "seed": seed,
              "requested_label": as_label, "demos_shown": len(pairs)}
    return Request(index, messages, temperature, seed, as_label, items, params)


def plan_targeted(spec: TaskSpec, config: SynthConfig, *, round: int, index: int,
                  n_requests: int, failures: list[tuple[str, str]]) -> Request:
    """A request for k new examples near one or two of the `failures` (input, expected)."""
    rng = rng_for("targeted", round, index)
    picked = rng.sample(failures, min(2, len(failures)))
    label = picked[0][1] if spec.kind == "classification" and picked[0][1] in spec.labels else None
    k = config.items_per_request
    messages = prompts.render_targeted(spec, picked, k, label)
    temperature = config.temperature(index, n_requests)
    seed = request_seed("targeted", round, index)
    params = {"round": round, "index": index, "temperature": temperature, "seed": seed,
              "targeted": True, "near": [i for i, _ in picked], "requested_label": label}
    items = [{"topic": "near a failure", "style": "", "length": ""}] * k
    return Request(index, messages, temperature, seed, label, items, params, targeted=True)
