"""Cost control: an estimate before a round, and a budget checked before each batch."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from tools.contracts import TaskSpec
from tools.llm.client import _PRICES  # one price table for the product
from tools.synth import prompts
from tools.synth.config import AttributeGrid, SynthConfig
from tools.synth.plan import plan_generate

# Assumptions an estimate states rather than hides.
EXPECTED_ACCEPT = {"embedded": 0.3, "remote": 0.7}
SECONDS_PER_CALL_REMOTE = 1.5  # a hosted model answering ~100 tokens
EMBEDDED_TOKENS_PER_S = (200.0, 45.0)  # prompt, completion on one shared core (FACTS.md)


class Estimate(BaseModel):
    """What a round will probably cost, and the most it may cost."""

    n: int
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
        cost = "unknown cost" if self.cost_usd is None else f"about ${self.cost_usd:.2f}"
        return (f"{self.n} examples: about {self.calls_expected} teacher calls (at most "
                f"{self.calls_max}), {self.tokens:,} tokens, {_duration(self.seconds)}, {cost}.")


def _duration(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min"


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)  # ~4 characters per token for English


def _embedded(client) -> bool:
    # Decide without resolving the endpoint: an estimate must never start a server.
    ep = getattr(client, "_endpoint", None)
    if ep is not None:
        return ep.embedded
    return getattr(client, "_injected", None) is None and client.settings.uses_embedded


def estimate_round(spec: TaskSpec, n: int, config: SynthConfig | None = None,
                   client=None) -> Estimate:
    """Calls, tokens, time and cost for generating `n` accepted examples.

    Uses a rendered prompt for token counts, an assumed acceptance rate, the
    self-consistency k and the concurrency. No call is made.
    """
    config = config or SynthConfig()
    embedded = _embedded(client) if client is not None else False
    accept = EXPECTED_ACCEPT["embedded" if embedded else "remote"]
    gen_expected = min(config.max_attempts(n), math.ceil(n / accept))
    survivors = math.ceil(gen_expected * (accept + 1) / 2)  # consistency runs before the last cut
    per_gen = 1 + config.parse_retries
    calls_expected = gen_expected + survivors * config.consistency_k + (1 if config.propose_attributes else 0)
    calls_max = config.max_attempts(n) * per_gen * (1 + config.consistency_k) + 1
    if config.max_calls is not None:
        calls_expected, calls_max = min(calls_expected, config.max_calls), min(calls_max, config.max_calls)

    grid = config.attributes or AttributeGrid(topics=["x"], styles=["x"])
    req = plan_generate(spec, config, grid, round=0, index=0, n=n, pool=[],
                        label=spec.labels[0] if spec.labels else None)
    gen_prompt = sum(_tokens(c) for _, c in req.messages)
    gen_completion = _tokens("x" * (min(config.max_input_chars, 240) + config.output_chars(spec) // 2)) + 12
    ans = prompts.render_answer(spec, "x" * 160)
    ans_prompt, ans_completion = sum(_tokens(c) for _, c in ans), _tokens("x" * config.output_chars(spec)) // 2 + 8
    n_ans = calls_expected - gen_expected
    pt = gen_expected * gen_prompt + n_ans * ans_prompt
    ct = gen_expected * gen_completion + n_ans * ans_completion
    if embedded:  # one local server: requests queue, speed is tokens/s
        seconds = pt / EMBEDDED_TOKENS_PER_S[0] + ct / EMBEDDED_TOKENS_PER_S[1]
        cost = 0.0
        notes = [f"embedded teacher: about {EMBEDDED_TOKENS_PER_S[1]:.0f} output tokens/s, "
                 f"{accept:.0%} of requests accepted"]
    else:
        seconds = calls_expected * SECONDS_PER_CALL_REMOTE / config.concurrency
        if config.rpm:
            seconds = max(seconds, calls_expected * 60.0 / config.rpm)
        model = getattr(client, "settings", None) and client.settings.model
        price = _PRICES.get(model or "gpt-4o-mini")
        cost = (pt * price[0] + ct * price[1]) / 1e6 if price else None
        notes = [f"{SECONDS_PER_CALL_REMOTE} s per call, {config.concurrency} at once, "
                 f"{accept:.0%} of requests accepted"]
    notes.append(f"self-consistency k={config.consistency_k}; cached calls are free")
    return Estimate(n=n, calls_expected=calls_expected, calls_max=calls_max, prompt_tokens=pt,
                    completion_tokens=ct, seconds=round(seconds, 1),
                    cost_usd=None if cost is None else round(cost, 4), assumptions=notes)


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
    def cache_hits(self) -> int:
        return self._delta("cache_hits")

    def allowed_requests(self, wanted: int, calls_per_request: int) -> tuple[int, str | None]:
        """How many of `wanted` requests fit the budget in the worst case, and why not more.

        Worst case per request: its generation (with parse retries) plus k answers,
        so a round never ends above its call budget.
        """
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
