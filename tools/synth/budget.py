"""Cost control for generation: how many examples a budget buys, and spend checks.

`estimate_round` says before a round what it will cost (calls, tokens, seconds,
dollars) and `examples_for` turns a time and call budget into the number of
examples to ask for, from the teacher's speed: measured in this session when
calls were made, else the profile of the embedded model or of a hosted API.
`Spend` tracks the round's paid calls and tokens from the client's counters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, Field

from tools.contracts import TaskSpec
from tools.llm.prices import price_per_million
from tools.synth import prompts
from tools.synth.config import SynthConfig


@dataclass(frozen=True)
class TeacherSpeed:
    """How fast a teacher answers: combined decode tokens/s over the concurrent requests,
    prompt tokens/s, fixed seconds per request, and the share of items it gets accepted."""

    decode_tps: float
    prompt_tps: float
    overhead_s: float
    accept: float
    source: str


# A hosted API answers many requests at once; each costs its latency, not our CPU.
REMOTE = TeacherSpeed(decode_tps=400.0, prompt_tps=20000.0, overhead_s=0.8, accept=0.8,
                      source="assumed for a hosted API (4 concurrent requests)")


def teacher_speed(client, measured: dict | None = None) -> TeacherSpeed:
    """The speed to plan with: `measured` {completion_tokens, seconds} from this session's
    paid calls when given, else the embedded model's profile, else a hosted API's."""
    base = REMOTE
    if _embedded(client):
        from tools.llm.embedded_models import profile

        m = profile(getattr(client, "model_name", None))
        base = TeacherSpeed(m.decode_tps, m.prompt_tps, 0.2, m.accept,
                            f"{m.name} on this machine's CPU (measured profile)")
    if measured and measured.get("seconds", 0) > 5 and measured.get("completion_tokens", 0) > 50:
        tps = measured["completion_tokens"] / measured["seconds"]
        return TeacherSpeed(tps, base.prompt_tps, base.overhead_s, base.accept,
                            f"measured in this session ({tps:.1f} output tokens/s)")
    return base


class Estimate(BaseModel):
    """What a round will probably cost, and the most it may cost."""

    n: int
    requests: int
    calls_expected: int
    calls_max: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost_usd: float | None = Field(default=None, description="None: unknown price; 0: local model")
    assumptions: list[str] = Field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def summary(self) -> str:
        """One line for a chat message or a CLI confirmation prompt."""
        cost = "unknown cost" if self.cost_usd is None else (
            "free (local model)" if self.cost_usd == 0 else f"about ${self.cost_usd:.2f}")
        return (f"{self.n} examples: about {self.calls_expected} teacher calls (at most "
                f"{self.calls_max}), {self.tokens:,} tokens, {duration(self.seconds)}, {cost}.")


def duration(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min"


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)  # ~4 characters per token for English


def _embedded(client) -> bool:
    if client is None:
        return False
    return bool(getattr(client, "embedded_hint", False))


def _item_tokens(spec: TaskSpec, config: SynthConfig) -> tuple[int, int]:
    """(completion tokens per generated item, tokens of the prompt's varying tail)."""
    lengths = [len(d.input) for d in spec.demonstrations] or [120]
    chars = min(config.max_input_chars, sum(lengths) / len(lengths))
    out = _tokens("x" * int(chars)) + 6  # quotes, comma, indentation
    if spec.kind != "classification":
        outs = [len(d.output) for d in spec.demonstrations] or [80]
        out += _tokens("x" * int(min(config.max_output_chars, sum(outs) / len(outs)))) + 8
    return out, 25 + 12 * config.items_per_request


def estimate_round(spec: TaskSpec, n: int, config: SynthConfig | None = None, client=None,
                   speed: TeacherSpeed | None = None) -> Estimate:
    """Calls, tokens, time and cost for generating `n` accepted examples. No call is made."""
    config = config or SynthConfig()
    speed = speed or teacher_speed(client)
    k = config.items_per_request
    requests = min(config.max_requests(n), math.ceil(n / max(speed.accept, 0.05) / k))
    per_item, tail = _item_tokens(spec, config)
    head = _tokens(prompts.task_block(spec, [(d.input, d.output)
                                             for d in spec.demonstrations[:config.demos_per_prompt]]))
    answers = requests * k * config.consistency_k
    calls = requests + answers + (1 if config.propose_attributes else 0) * max(1, len(spec.labels))
    calls_max = config.max_requests(n) * (1 + k * config.consistency_k) + max(1, len(spec.labels))
    if config.max_calls is not None:
        calls, calls_max = min(calls, config.max_calls), min(calls_max, config.max_calls)
    pt = requests * (head + tail) + answers * (head + 40)
    ct = requests * k * per_item + answers * 6
    # A local server keeps the prompt's head cached: it reads only each request's tail.
    read = requests * tail + answers * 40 if _embedded(client) else pt
    seconds = (read / speed.prompt_tps + ct / speed.decode_tps
               + calls * speed.overhead_s / config.concurrency)
    if config.rpm:
        seconds = max(seconds, calls * 60.0 / config.rpm)
    if _embedded(client):
        cost = 0.0
    else:
        model = getattr(getattr(client, "settings", None), "model", None) if client else None
        price = price_per_million(model or "gpt-4o-mini")
        cost = (pt * price[0] + ct * price[1]) / 1e6 if price else None
    notes = [f"teacher speed: {speed.source}", f"{k} examples per request, about {per_item} "
             f"output tokens each, {speed.accept:.0%} accepted",
             f"self-consistency k={config.consistency_k}; cached calls are free"]
    return Estimate(n=n, requests=requests, calls_expected=calls, calls_max=calls_max,
                    prompt_tokens=pt, completion_tokens=ct, seconds=round(seconds, 1),
                    cost_usd=None if cost is None else round(cost, 4), assumptions=notes)


def examples_for(spec: TaskSpec, seconds: float, calls: int, config: SynthConfig | None = None,
                 client=None, speed: TeacherSpeed | None = None, cap: int = 5000) -> int:
    """The most examples a round can expect within `seconds` and `calls` (at least 0)."""
    config = config or SynthConfig()
    speed = speed or teacher_speed(client)
    lo, hi = 0, cap
    while lo < hi:  # estimates grow with n: bisect for the largest n that fits
        mid = (lo + hi + 1) // 2
        est = estimate_round(spec, mid, config, client, speed)
        if est.seconds <= seconds and est.calls_expected <= calls:
            lo = mid
        else:
            hi = mid - 1
    return lo


class Spend:
    """Paid calls and tokens of this round, read from the client's usage counters."""

    def __init__(self, client, config: SynthConfig):
        self.client, self.config = client, config
        self._start = dict(client.usage)

    def _delta(self, key: str) -> int:
        return int(self.client.usage.get(key, 0)) - int(self._start.get(key, 0))

    @property
    def calls(self) -> int:
        return self._delta("calls")

    @property
    def tokens(self) -> int:
        return self._delta("prompt_tokens") + self._delta("completion_tokens")

    @property
    def completion_tokens(self) -> int:
        return self._delta("completion_tokens")

    @property
    def cache_hits(self) -> int:
        return self._delta("cache_hits")

    def allowed_requests(self, wanted: int, calls_per_request: int) -> tuple[int, str | None]:
        """How many of `wanted` requests fit the budget in the worst case, and why not more."""
        allowed, why = wanted, None
        if self.config.max_calls is not None:
            fit = max(0, self.config.max_calls - self.calls) // max(1, calls_per_request)
            if fit < allowed:
                allowed, why = fit, f"call budget: {self.calls} of {self.config.max_calls} calls spent"
        if self.config.max_tokens is not None:
            per_call = self.tokens / max(1, self.calls) if self.calls else 0
            left = self.config.max_tokens - self.tokens
            fit = wanted if per_call == 0 and left > 0 else (
                int(left // (per_call * calls_per_request)) if left > 0 else 0)
            if fit < allowed:
                allowed, why = fit, (f"token budget: {self.tokens:,} of "
                                     f"{self.config.max_tokens:,} tokens spent")
        return allowed, why
