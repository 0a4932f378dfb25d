"""generate_round / generate_targeted with a fake teacher that reads the prompt.

The fake writes what a well-behaved teacher would (or misbehaves on purpose),
so these tests check the generator's control flow, filters and report, fast.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

from tests.fakes.chat import FakeChatModel
from tools.contracts import Demonstration, Example, TaskSpec
from tools.llm import LLMClient, WEAK_TEACHER_NOTE
from tools.llm.factory import Endpoint
from tools.settings import Settings
from tools.synth import SynthConfig, estimate_round, generate_round, generate_targeted
from tools.synth.embed import hashed_bow_embed

SPAM = TaskSpec(instruction="Classify an SMS message as spam or ham.", kind="classification",
                labels=["spam", "ham"], input_format="an SMS message", output_format="a label",
                demonstrations=[Demonstration(input="WIN a free prize now, call 0800", output="spam"),
                                Demonstration(input="see you at lunch tomorrow", output="ham")])
NO_DEMOS = TaskSpec(instruction="Classify a news headline by topic.", kind="classification",
                    labels=["sports", "business", "science"])
GEN = TaskSpec(instruction="Rewrite a sentence politely.", kind="generation",
               demonstrations=[Demonstration(input="give me the report", output="could you please "
                                             "send me the report")])


class FnChat(FakeChatModel):
    """A fake teacher whose reply is fn(last user prompt)."""

    fn: Any = None

    def _next_reply(self, prompt: str):
        return self.fn(prompt)


def good_teacher(counter=None):
    """Obeys the prompt: writes a unique input with the requested label; answers honestly."""
    counter = counter or itertools.count()

    def fn(prompt: str) -> str:
        if prompt.rstrip().endswith('{"output": "..."}'):  # self-consistency question
            m = re.search(r"Input: .* clearly (\w+)", prompt)
            return json.dumps({"output": m.group(1) if m else "could you please do it"})
        if '"topics"' in prompt:
            return json.dumps({"topics": ["football results", "stock markets", "space probes"],
                               "styles": ["terse", "chatty"]})
        label = re.search(r'must be "(\w+)"', prompt)
        topic = re.search(r"Topic: ([^.]+)\.", prompt)
        topic = topic.group(1) if topic else "a failure"
        i = next(counter)
        if label:
            return json.dumps({"input": f"item {i} on {topic} clearly {label.group(1)}",
                               "output": label.group(1)})
        return json.dumps({"input": f"item {i} on {topic} please", "output": f"could you please do {i}"})
    return fn


def client_with(fn, store=None, embedded=False) -> tuple[LLMClient, FnChat]:
    fake = FnChat(fn=fn)
    client = LLMClient(Settings(), chat_model=fake, store=store)
    if embedded:
        client._endpoint = Endpoint("http://127.0.0.1:1/v1", "smollm2-135m-instruct", embedded=True)
    return client, fake


CFG = dict(near_dup_threshold=0.92, overlap_threshold=0.92, concurrency=4)


def run(spec, fn, n=6, **kw):
    cfg = SynthConfig(**{**CFG, **kw.pop("config", {})})
    client, fake = client_with(fn, kw.get("store"), kw.pop("embedded", False))
    res = generate_round(spec, client, n=n, round=kw.pop("round", 1), config=cfg,
                         embedder=hashed_bow_embed, **kw)
    return res, client, fake


def test_balanced_labels_all_accepted_and_report_counts():
    res, client, _ = run(SPAM, good_teacher(), n=8)
    assert len(res.accepted) == 8 and res.report.accepted == 8
    assert res.report.label_counts == {"spam": 4, "ham": 4}  # asked per request, on purpose
    assert res.report.stopped == "target reached"
    assert res.report.consistency_agreement == 1.0
    assert all(e.source == "synthetic:1" and e.verdicts["consistency"] == "pass" for e in res.accepted)
    assert res.report.chart() == {"type": "bar", "title": "Accepted examples by label (round 1)",
                                  "x": ["spam", "ham"], "y": [4, 4]}
    rows = {r["metric"]: r["value"] for r in res.report.rows()}
    assert rows["accepted"] == 8 and rows["labels"] == "spam: 4, ham: 4"
    # attributes proposed by the teacher reach the generation prompts
    assert {e.params["topic"] for e in res.examples} <= {"football results", "stock markets", "space probes"}


def test_requests_are_distinct_seeds_and_temperature_ramps():
    res, _, fake = run(SPAM, good_teacher(), n=6)
    seeds = [e.params["seed"] for e in res.examples]
    assert len(set(seeds)) == len(seeds)
    temps = [e.params["temperature"] for e in sorted(res.examples, key=lambda e: e.params["index"])]
    assert temps[0] == 0.5 and temps[-1] > temps[0] and temps == sorted(temps)


def test_spec_without_demonstrations_works():
    res, _, fake = run(NO_DEMOS, good_teacher(), n=6)
    assert len(res.accepted) == 6
    assert set(res.report.label_counts.values()) == {2}
    gen_prompts = [c["messages"][-1][1] for c in fake.calls if "Write ONE" in c["messages"][-1][1]]
    assert gen_prompts and not any(p.startswith("Examples:") for p in gen_prompts[:1])


def test_same_example_every_time_is_deduplicated_and_the_round_ends():
    def same(prompt):
        if prompt.rstrip().endswith('{"output": "..."}'):
            return json.dumps({"output": "spam"})
        if '"topics"' in prompt:
            return "no"
        return json.dumps({"input": "WIN CASH NOW text 999", "output": "spam"})
    cfg = {"attempts_factor": 10, "stall_after": 12, "batch_size": 4}
    res, client, _ = run(SPAM, same, n=20, config=cfg)
    assert res.report.accepted == 1
    assert res.report.rejected_by_reason["duplicate"] == res.report.generated - 1
    assert res.report.stopped.startswith("stalled")
    assert res.report.requested <= 4 + 12  # first batch + stall window, never 10x20
    assert res.report.duplicate_rate > 0.9


def test_malformed_json_becomes_a_rejected_row_with_the_raw_reply():
    good = good_teacher()
    bad = itertools.count()

    def flaky(prompt):
        if "Write ONE" in prompt and next(bad) % 3 == 0:
            return "Sure! here you go: {input: oops"
        return good(prompt)
    res, _, _ = run(SPAM, flaky, n=6)
    bad_rows = [e for e in res.examples if e.verdicts.get("parse", "pass") != "pass"]
    assert bad_rows and res.report.malformed == len(bad_rows)
    assert all(not e.accepted and e.input.startswith("Sure! here you go") for e in bad_rows)
    assert all(e.verdicts["parse"].startswith("malformed reply") for e in bad_rows)
    assert len(res.accepted) == 6  # the round went on to the target
    assert any("not the JSON asked for" in w for w in res.report.warnings)


def test_invalid_label_and_short_input_are_rejected_with_reasons():
    good = good_teacher()
    n = itertools.count()

    def sloppy(prompt):
        if "Write ONE" in prompt:
            k = next(n)
            if k == 0:
                return json.dumps({"input": "a perfectly normal message here", "output": "urgent"})
            if k == 1:
                return json.dumps({"input": "x", "output": "ham"})
        return good(prompt)
    res, _, _ = run(SPAM, sloppy, n=4, config={"consistency_k": 0})
    by_reason = res.report.rejected_by_reason
    assert by_reason.get("label") == 1 and by_reason.get("length") == 1
    lab = next(e for e in res.examples if e.verdicts.get("label", "pass") != "pass")
    assert "not one of ['spam', 'ham']" in lab.verdicts["label"] and not lab.accepted


def test_label_spelling_is_canonicalised():
    def shouty(prompt):
        out = good_teacher_singleton(prompt)
        if "Write ONE" in prompt:
            d = json.loads(out)
            d["output"] = d["output"].upper() + "."
            return json.dumps(d)
        return out
    res, _, _ = run(SPAM, shouty, n=2, config={"consistency_k": 0})
    assert {e.output for e in res.accepted} == {"spam", "ham"}


good_teacher_singleton = good_teacher()


def test_self_consistency_rejects_when_the_teacher_disagrees_and_k0_disables_it():
    good = good_teacher()

    def contrarian(prompt):
        if prompt.rstrip().endswith('{"output": "..."}'):
            return json.dumps({"output": "ham"})  # always ham: disagrees on every spam example
        return good(prompt)
    res, _, _ = run(SPAM, contrarian, n=4, config={"consistency_k": 3, "attempts_factor": 2})
    spam = [e for e in res.examples if e.params["requested_label"] == "spam"]
    assert spam and all(not e.accepted and "0 of 3" in e.verdicts["consistency"] for e in spam)
    assert all(e.output == "ham" for e in res.accepted)
    assert res.report.consistency_agreement < 1.0

    res0, _, fake0 = run(SPAM, contrarian, n=4, config={"consistency_k": 0})
    assert len(res0.accepted) == 4 and "consistency" not in res0.accepted[0].verdicts
    assert not any(c["messages"][-1][1].rstrip().endswith('{"output": "..."}') for c in fake0.calls)


def test_eval_inputs_are_never_generated_again():
    good = good_teacher()

    def leaky(prompt):
        if "Write ONE" in prompt and "clearly spam" not in prompt and '"spam"' in prompt:
            return json.dumps({"input": "Free entry in 2 a wkly comp to win FA Cup final tkts",
                               "output": "spam"})
        return good(prompt)
    res, _, _ = run(SPAM, leaky, n=4, config={"consistency_k": 0, "attempts_factor": 2},
                    eval_inputs=["free entry in 2 a wkly comp to win FA cup final tkts!"])
    leaked = [e for e in res.examples if e.verdicts.get("eval_overlap", "pass") != "pass"]
    assert leaked and not any(e.accepted for e in leaked)
    assert "evaluation input" in leaked[0].verdicts["eval_overlap"]


def test_budget_is_checked_before_each_batch_and_stops_cleanly():
    res, client, _ = run(SPAM, good_teacher(), n=50,
                         config={"max_calls": 11, "batch_size": 4, "consistency_k": 1})
    assert client.usage["calls"] <= 11
    assert res.report.stopped.startswith("budget reached (call budget")
    assert 0 < res.report.accepted < 50


def test_rerun_of_a_round_pays_nothing_and_gives_the_same_examples():
    counter = itertools.count()
    res1, client1, _ = run(SPAM, good_teacher(counter), n=6)
    res2, client2, _ = run(SPAM, lambda p: pytest.fail(f"paid call on re-run: {p[:80]}"), n=6)
    assert client2.usage["calls"] == 0 and client2.usage["cache_hits"] > 0
    assert [e.input for e in res2.accepted] == [e.input for e in res1.accepted]


def test_store_gets_every_example_the_report_and_every_call(p2m_home):
    from tools.store import Store

    store = Store(Settings())
    good = good_teacher()
    k = itertools.count()

    def mixed(prompt):
        return "garbage" if "Write ONE" in prompt and next(k) == 2 else good(prompt)
    res, client, _ = run(SPAM, mixed, n=4, store=store, session_id="s1")
    rows = store.query("SELECT accepted, verdicts, round, source FROM examples WHERE session_id='s1'")
    assert len(rows) == len(res.examples) and sum(r["accepted"] for r in rows) == res.report.accepted
    assert sum(not r["accepted"] for r in rows) == 1 and res.report.accepted >= 4
    rep = store.query("SELECT payload FROM events WHERE kind='data_report' AND session_id='s1'")
    assert json.loads(rep[0]["payload"])["accepted"] == res.report.accepted
    calls = store.query("SELECT purpose FROM llm_calls")
    assert len(calls) == client.usage["calls"] + client.usage["cache_hits"]
    assert {c["purpose"] for c in calls} == {"synth.attributes", "synth.generate", "synth.consistency"}


def test_embedded_teacher_report_says_it_is_weak():
    res, _, _ = run(SPAM, good_teacher(), n=2, embedded=True)
    assert WEAK_TEACHER_NOTE in res.report.warnings
    assert "OPENAI_BASE_URL" in res.report.markdown()


def test_attribute_proposal_failure_falls_back_and_says_so():
    good = good_teacher()
    res, _, _ = run(SPAM, lambda p: "not json" if '"topics"' in p else good(p), n=2)
    assert any(w.startswith("attribute proposal failed") for w in res.report.warnings)
    assert res.examples[0].params["topic"] in {"everyday life", "work and business", "technology",
                                               "health", "travel", "food", "sports",
                                               "money and shopping", "education", "entertainment",
                                               "science", "news and politics"}


def test_generation_task_uses_token_f1_for_consistency():
    res, _, _ = run(GEN, good_teacher(), n=3)
    assert len(res.accepted) == 3 and res.report.label_counts == {}
    assert res.report.chart()["title"].startswith("Input length")


def test_targeted_generation_prompts_with_the_failures():
    res, _, fake = None, None, None
    client, fake = client_with(good_teacher())
    failures = [{"input": "URGENT your account is locked reply now", "expected": "spam",
                 "predicted": "ham"},
                Example(input="are we still on for tonight", output="ham", split="validation"),
                {"input": "call now to claim your reward", "gold": "spam", "pred": "ham"}]
    res = generate_targeted(SPAM, client, failures, n=4, round=2, embedder=hashed_bow_embed,
                            config=SynthConfig(**CFG))
    assert len(res.accepted) == 4 and all(e.params["targeted"] for e in res.examples)
    prompts = [c["messages"][-1][1] for c in fake.calls if "A model gets these inputs wrong" in c["messages"][-1][1]]
    assert prompts and any("URGENT your account is locked" in p for p in prompts)
    with pytest.raises(ValueError, match="needs an 'input'"):
        generate_targeted(SPAM, client, [{"expected": "spam"}], n=1, round=3)
    with pytest.raises(ValueError, match="at least one"):
        generate_targeted(SPAM, client, [], n=1, round=3)


def test_estimate_makes_no_call_and_bounds_the_round():
    client, fake = client_with(lambda p: pytest.fail("estimate must not call the teacher"))
    est = estimate_round(SPAM, 20, SynthConfig(consistency_k=2), client)
    assert est.calls_max >= est.calls_expected >= 20
    assert est.prompt_tokens > 0 and est.seconds > 0
    assert "20 examples: about" in est.summary()
    capped = estimate_round(SPAM, 20, SynthConfig(max_calls=10), client)
    assert capped.calls_max == 10 and not fake.calls


def test_existing_examples_are_not_generated_again_but_the_same_round_replays():
    counter = itertools.count()
    first, _, _ = run(SPAM, good_teacher(counter), n=4, config={"consistency_k": 0})
    # a later round whose teacher repeats round 1's inputs: all duplicates of `existing`
    replay = {e.params["index"]: e for e in first.accepted}
    again = itertools.count()

    def repeat(prompt):
        if "Write ONE" in prompt:
            e = replay[next(again) % 4]
            return json.dumps({"input": e.input, "output": e.output})
        return good_teacher()(prompt)
    res, _, _ = run(SPAM, repeat, n=4, round=2, existing=first.accepted,
                    config={"consistency_k": 0, "attempts_factor": 1})
    assert res.report.accepted == 0 and res.report.rejected_by_reason == {"duplicate": 4}
    # re-running round 1 itself with its own rows as `existing` is a replay, not duplicates
    res1, _, _ = run(SPAM, repeat, n=4, round=1, existing=first.accepted,
                     config={"consistency_k": 0})
    assert res1.report.accepted == 4


def test_progress_is_reported_per_batch_and_token_budget_stops():
    seen = []
    res, client, _ = run(SPAM, good_teacher(), n=12, on_progress=seen.append,
                         config={"batch_size": 4, "max_tokens": 400, "consistency_k": 0})
    assert seen and seen[0]["requests"] == 4 and seen[-1]["accepted"] == res.report.accepted
    assert res.report.stopped.startswith("budget reached (token budget")
    assert res.report.accepted < 12


def test_zero_budget_makes_no_call_at_all():
    res, client, fake = run(SPAM, lambda p: pytest.fail("no call allowed"), n=5,
                            config={"max_calls": 0})
    assert client.usage["calls"] == 0 and not fake.calls
    assert res.report.requested == 0 and res.report.stopped.startswith("budget reached")
