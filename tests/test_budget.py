"""agent/budget.py: what was spent, what is left, what the next round may use."""

from __future__ import annotations

import time

from agent.budget import budget_left, plan_round, spent
from agent.context import Sizes
from tests.test_synth_generate import SPAM, client_with
from tools.contracts import Budget
from tools.settings import Settings
from tools.store import Store


def test_budget_left_names_what_ran_out():
    spec = SPAM.model_copy(update={"budget": Budget(max_rounds=2, max_minutes=1.0, max_llm_calls=10)})
    assert budget_left(spec, 1, 0.2, 0) is None
    assert budget_left(spec, 2, 0.2, 0) == "2 of 2 rounds used"
    assert budget_left(spec, 1, 2.0, 0) == "2.0 of 1 minutes used"
    assert budget_left(spec, 1, 0.2, 10) == "10 of 10 LLM calls used"
    assert "too few for another round" in budget_left(spec, 1, 0.5, 0, min_round_minutes=0.6)


def test_spent_counts_paid_calls_only(p2m_home):
    store = Store(Settings())
    for hit, err in ((False, None), (True, None), (False, "boom")):
        store.record("llm_calls", {"session_id": "s", "purpose": "p", "model": "m", "cache_key": "k",
                                   "prompt_tokens": 10, "completion_tokens": 5, "latency_ms": 2000.0,
                                   "cost_usd": 0.0, "cache_hit": hit, "error": err})
    got = spent(store, "s", time.time() - 60)
    assert got["llm_calls"] == 1 and got["tokens"] == 15 and got["completion_tokens"] == 5
    assert got["call_seconds"] == 2.0 and 0.9 < got["minutes"] < 1.2


def test_the_round_volume_comes_from_the_time_and_call_budget():
    client, fake = client_with(lambda p: AssertionError("planning must not call the teacher"),
                               embedded=True)  # time-bound: the local teacher's speed profile
    sizes = Sizes(train_minutes=4, teacher_eval_rows=40)
    none_used = {"minutes": 0.0, "llm_calls": 0, "tokens": 0}
    long = SPAM.model_copy(update={"budget": Budget(max_minutes=30, max_rounds=1)})
    short = SPAM.model_copy(update={"budget": Budget(max_minutes=10, max_rounds=1)})
    big = plan_round(long, sizes, client, round_=1, used=none_used)
    small = plan_round(short, sizes, client, round_=1, used=none_used)
    assert big.n > small.n > 0 and big.max_seconds > small.max_seconds
    assert big.max_calls == 400 - 40  # the teacher's evaluation calls stay reserved
    assert big.summary.startswith(f"round 1: about {big.n} synthetic examples in about")
    capped = plan_round(long, Sizes(synth_per_round=6, train_minutes=4), client, round_=1, used=none_used)
    assert capped.n == 6
    broke = plan_round(long, sizes, client, round_=1, used={**none_used, "llm_calls": 400})
    assert broke.n == 0 and broke.max_calls == 0
    assert not fake.calls


def test_a_classifier_keeps_for_training_what_its_data_needs_not_the_whole_train_budget():
    from agent.budget import training_minutes

    client, _ = client_with(lambda p: AssertionError("no calls"), embedded=True)
    sizes = Sizes(train_minutes=10, teacher_eval_rows=40)
    none_used = {"minutes": 0.0, "llm_calls": 0, "tokens": 0}
    spec = SPAM.model_copy(update={"budget": Budget(max_minutes=20, max_rounds=1)})
    plan = plan_round(spec, sizes, client, round_=1, used=none_used)
    kept = plan.reserved["training_min"]
    assert kept < 10 and abs(kept - training_minutes(plan.n)) < 0.1  # sized for this round's rows
    # the whole train budget reserved would leave generation 10 - kept minutes less
    full = (20 - 10 - plan.reserved["evaluation_min"] - plan.reserved["export_min"]) * 60
    assert plan.max_seconds > full + 60
    # a big retrieved set needs the whole budget: nothing is taken from training
    assert plan_round(spec, sizes, client, round_=1, used=none_used,
                      retrieved_rows=20_000).reserved["training_min"] == 10


def test_training_gets_what_the_session_has_left_after_evaluation_and_export():
    from agent.budget import evaluation_minutes, training_budget

    sizes = Sizes(train_minutes=10, teacher_eval_rows=40)
    spec = SPAM.model_copy(update={"budget": Budget(max_minutes=20, max_rounds=1)})
    assert training_budget(spec, sizes, {"minutes": 2.0}) == 10
    left = 20 - 15.0 - evaluation_minutes(sizes) - 1.0
    assert training_budget(spec, sizes, {"minutes": 15.0}) == round(left, 2)
    assert training_budget(spec, sizes, {"minutes": 19.9}) == 1.0
