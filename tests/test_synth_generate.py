"""generate_round / generate_targeted with a fake teacher that reads the prompt.

The fake writes what a well-behaved teacher would (or misbehaves on purpose),
so these tests check the generator's control flow, filters and report, fast.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from typing import Any

import pytest

from tests.fakes.chat import FakeChatModel
from tools.contracts import Demonstration, Example, TaskSpec
from tools.llm import LLMClient
from tools.llm.factory import Endpoint
from tools.settings import Settings
from tools.synth import SynthConfig, estimate_round, examples_for, generate_round, generate_targeted
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
ASK_INPUTS = re.compile(r'Write (\d+) new inputs whose correct output is "(\w+)"')
ASK_PAIRS = re.compile(r"Write (\d+) new examples")
SUBJECT = re.compile(r"^\d+\. subject: (.*?); style", re.M)


class FnChat(FakeChatModel):
    """A fake teacher whose reply is fn(last user prompt)."""

    fn: Any = None

    def _next_reply(self, prompt: str):
        return self.fn(prompt)


def is_answer(prompt: str) -> bool:
    """The teacher's task prompt (self-consistency, annotation) ends with the input itself."""
    return "Write " not in prompt and '"topics"' not in prompt


def good_teacher(counter=None, delay: float = 0.0):
    """Obeys the prompt: unique inputs of the requested label; answers honestly."""
    counter = counter or itertools.count()

    def fn(prompt: str) -> str:
        if delay:
            time.sleep(random.random() * delay)  # out-of-order completion, not a timing check
        if '"topics"' in prompt:
            label = re.search(r'output is "(\w+)"', prompt)
            tag = label.group(1) if label else "any"
            return json.dumps({"topics": [f"{tag} subject {i}" for i in range(4)],
                               "styles": ["terse", "chatty"]})
        if m := ASK_INPUTS.search(prompt):
            k, label = int(m.group(1)), m.group(2)
            subjects = SUBJECT.findall(prompt)
            return json.dumps({"inputs": [f"item {next(counter)} on {s} clearly {label}"
                                          for s in subjects[:k]]})
        if m := ASK_PAIRS.search(prompt):
            k = int(m.group(1))
            return json.dumps({"examples": [{"input": f"item {next(counter)} please",
                                             "output": f"could you please do {next(counter)}"}
                                            for _ in range(k)]})
        if is_answer(prompt):  # the answer is "spam"/"ham" if the input says which
            m = re.search(r"clearly (\w+)", prompt)
            return json.dumps({"output": m.group(1) if m else "could you please do it"})
        raise AssertionError(f"unexpected prompt {prompt[:200]}")
    return fn


def client_with(fn, store=None, embedded=False, cache=True) -> tuple[LLMClient, FnChat]:
    fake = FnChat(fn=fn)
    client = LLMClient(Settings(), chat_model=fake, store=store, cache=cache)
    if embedded:
        client._endpoint = Endpoint("http://127.0.0.1:1/v1", "smollm2-135m-instruct", embedded=True)
    return client, fake


CFG = dict(near_dup_threshold=0.92, overlap_threshold=0.92, concurrency=4, items_per_request=3)


def run(spec, fn, n=6, **kw):
    cfg = SynthConfig(**{**CFG, **kw.pop("config", {})})
    client, fake = client_with(fn, kw.get("store"), kw.pop("embedded", False), kw.pop("cache", True))
    res = generate_round(spec, client, n=n, round=kw.pop("round", 1), config=cfg,
                         embedder=hashed_bow_embed, **kw)
    return res, client, fake


def gen_prompts(fake) -> list[str]:
    return [c["messages"][-1][1] for c in fake.calls if "Write " in c["messages"][-1][1]]


def test_balanced_labels_per_label_subjects_and_report():
    res, client, fake = run(SPAM, good_teacher(), n=12)
    assert len(res.accepted) == res.report.accepted >= 12
    assert res.report.label_counts["spam"] == res.report.label_counts["ham"]
    assert res.report.stopped == "target reached"
    assert all(e.source == "synthetic:1" for e in res.accepted)
    # each label's requests use the subjects proposed for that label
    for e in res.accepted:
        assert e.params["topic"].startswith(e.output + " subject")
    assert res.report.items_requested == 3 * res.report.requested
    rows = {r["metric"]: r["value"] for r in res.report.rows()}
    assert rows["accepted"] == res.report.accepted and "distinct words / bigrams" in rows
    assert res.report.attributes and res.report.attributes[0]["topics"]["spam"][0] == "spam subject 0"
    assert res.report.chart()["x"] == ["spam", "ham"]


def test_one_request_asks_for_several_items_with_their_own_attributes():
    res, _, fake = run(SPAM, good_teacher(), n=6)
    p = gen_prompts(fake)[0]
    assert 'Write 3 new inputs whose correct output is "' in p
    assert len(SUBJECT.findall(p)) == 3
    first = [e for e in res.examples if e.params["index"] == 0]
    assert [e.params["item"] for e in first] == [0, 1, 2]
    assert len({e.params["request_id"] for e in first}) == 3


def test_the_fixed_part_of_every_prompt_comes_first():
    _, _, fake = run(SPAM, good_teacher(), n=12)
    heads = {p.split("Write ")[0] for p in gen_prompts(fake)}
    assert len(heads) == 1  # the same task block + examples: one cached prefix on the server


def test_results_do_not_depend_on_which_request_finished_first():
    """Request i is the same whatever finished first (only the number of requests may
    differ, by the ones in flight when the target was met)."""
    def plan(res):
        return {(e.params["index"], e.params["item"]): (e.params["topic"], e.params["requested_label"],
                                                        e.accepted) for e in res.examples}
    runs = [run(SPAM, good_teacher(itertools.count(), delay=d), n=18, cache=False)[0]
            for d in (0.0, 0.03, 0.03)]
    plans = [plan(r) for r in runs]
    common = set(plans[0]) & set(plans[1]) & set(plans[2])
    assert len(common) >= 18
    assert all(plans[0][k] == plans[1][k] == plans[2][k] for k in common)


def test_malformed_array_keeps_valid_items_and_records_the_rest():
    good = good_teacher()
    k = itertools.count()

    def flaky(prompt):
        if ASK_INPUTS.search(prompt) and next(k) == 0:
            return '{"inputs": ["a fine message here clearly spam", 42, "another good one clearly spam", "cut off he'
        return good(prompt)
    res, _, _ = run(SPAM, flaky, n=6, config={"concurrency": 1})
    first = [e for e in res.examples if e.params["index"] == 0]
    assert [e.accepted for e in first] == [True, True, False, False]  # valid items first
    bad = [e for e in first if not e.accepted]
    assert bad[0].input == "42"
    assert bad[0].verdicts["parse"].startswith("malformed item: item is not a non-empty string")
    assert "cut off" in bad[1].verdicts["parse"]
    assert res.report.malformed == 2 and any("not the JSON asked for" in w for w in res.report.warnings)


def test_garbage_reply_is_one_rejected_row_with_the_raw_text():
    good = good_teacher()
    k = itertools.count()

    def garbage(prompt):
        return "Sure! here you go: {input: oops" if ASK_INPUTS.search(prompt) and next(k) == 1 else good(prompt)
    res, _, _ = run(SPAM, garbage, n=6, config={"concurrency": 1})
    bad = [e for e in res.examples if e.params["index"] == 1]
    assert len(bad) == 1 and bad[0].input.startswith("Sure! here you go") and not bad[0].accepted
    assert len(res.accepted) >= 6


def test_a_teacher_that_repeats_itself_gets_its_subjects_retired_and_new_ones():
    asked_more = []

    def parrot(prompt):
        if '"topics"' in prompt:
            if "Do not repeat these subjects" in prompt:
                asked_more.append(prompt)
                return json.dumps({"topics": ["fresh one", "fresh two"], "styles": ["terse"]})
            return json.dumps({"topics": ["old one", "old two"], "styles": ["terse"]})
        if m := ASK_INPUTS.search(prompt):
            return json.dumps({"inputs": ["WIN CASH NOW text 999"] * int(m.group(1))})
        return json.dumps({"output": "spam"})
    res, _, _ = run(SPAM, parrot, n=30, config={"attempts_factor": 10, "stall_after": 12,
                                                "concurrency": 1})
    assert res.report.duplicate_rate > 0.8
    assert {"spam: old one", "spam: old two"} <= set(res.report.subjects_retired)
    assert asked_more and "old one" in asked_more[0]
    assert any("fresh" in t for e in res.examples for t in [e.params.get("topic", "")])
    assert res.report.stopped.startswith("stalled")


def test_echoed_attributes_and_looping_text_are_rejected():
    good = good_teacher()

    def echo(prompt):
        if m := ASK_INPUTS.search(prompt):
            subj = SUBJECT.findall(prompt)[0]
            style = re.search(r"style: ([^;]+);", prompt).group(1)
            return json.dumps({"inputs": [f"about {subj}; {style}; one sentence",
                                          "so good so good so good so good so good so good so good",
                                          f"a real message about {subj} clearly {m.group(2)}"]})
        return good(prompt)
    res, _, _ = run(SPAM, echo, n=4)
    reasons = [e.verdicts.get("echo") for e in res.examples if e.params["index"] == 0]
    assert reasons[0].startswith("input repeats the request's attributes")
    assert reasons[1].startswith("input repeats itself")
    assert reasons[2] == "pass"


def test_invalid_label_in_pairs_and_short_input_are_rejected_with_reasons():
    def pairs(prompt):
        if m := ASK_PAIRS.search(prompt):
            return json.dumps({"examples": [{"input": "a perfectly normal message", "output": "urgent"},
                                            {"input": "x", "output": "ham"},
                                            {"input": "call now to claim a prize", "output": "SPAM."}]})
        return good_teacher()(prompt)
    client, _ = client_with(pairs)
    res = generate_targeted(SPAM, client, [{"input": "claim your prize", "expected": "spam"}], n=1,
                            round=2, embedder=hashed_bow_embed, config=SynthConfig(**CFG))
    by_reason = res.report.rejected_by_reason
    assert by_reason.get("label") == 1 and by_reason.get("length") == 1
    assert [e.output for e in res.accepted] == ["spam"]  # spelling canonicalised


def test_self_consistency_rejects_when_the_teacher_disagrees_and_k0_disables_it():
    good = good_teacher()

    def contrarian(prompt):
        return json.dumps({"output": "ham"}) if is_answer(prompt) else good(prompt)
    res, _, _ = run(SPAM, contrarian, n=6, config={"consistency_k": 3, "attempts_factor": 2})
    spam = [e for e in res.examples if e.params["requested_label"] == "spam"]
    assert spam and all(not e.accepted and "0 of 3" in e.verdicts["consistency"] for e in spam)
    assert all(e.output == "ham" for e in res.accepted)
    assert res.report.consistency_agreement < 1.0
    res0, _, fake0 = run(SPAM, contrarian, n=4, config={"consistency_k": 0})
    assert "consistency" not in res0.accepted[0].verdicts
    assert not any(is_answer(c["messages"][-1][1]) for c in fake0.calls)


def test_eval_inputs_are_never_generated_again():
    good = good_teacher()

    def leaky(prompt):
        if ASK_INPUTS.search(prompt):
            return json.dumps({"inputs": ["Free entry in 2 a wkly comp to win FA Cup final tkts"]})
        return good(prompt)
    res, _, _ = run(SPAM, leaky, n=2, config={"attempts_factor": 1},
                    eval_inputs=["free entry in 2 a wkly comp to win FA cup final tkts!"])
    leaked = [e for e in res.examples if e.verdicts.get("eval_overlap", "pass") != "pass"]
    assert leaked and not any(e.accepted for e in leaked)
    assert "evaluation input" in leaked[0].verdicts["eval_overlap"]


def test_call_budget_is_checked_before_each_request_and_stops_cleanly():
    res, client, _ = run(SPAM, good_teacher(), n=60, config={"max_calls": 7, "consistency_k": 1})
    assert client.usage["calls"] <= 7
    assert res.report.stopped.startswith("budget reached (call budget")
    assert 0 < res.report.accepted < 60


def test_time_budget_ends_the_round_before_a_request_would_overrun():
    res, _, _ = run(SPAM, good_teacher(delay=0.05), n=500,
                    config={"max_seconds": 0.3, "attempts_factor": 1})
    assert res.report.stopped.startswith("time budget")
    assert 0 < res.report.accepted < 500


def test_rerun_of_a_round_pays_nothing_and_gives_the_same_examples():
    res1, _, _ = run(SPAM, good_teacher(itertools.count()), n=9, config={"concurrency": 1})
    res2, client2, _ = run(SPAM, lambda p: pytest.fail(f"paid call on re-run: {p[:80]}"), n=9,
                           config={"concurrency": 1})
    assert client2.usage["calls"] == 0 and client2.usage["cache_hits"] > 0
    assert [e.input for e in res2.accepted] == [e.input for e in res1.accepted]


def test_concurrent_rerun_never_pays_twice_for_one_request(p2m_home):
    from tools.store import Store

    store = Store(Settings())
    for start in (0, 1000):
        run(SPAM, good_teacher(itertools.count(start), delay=0.02), n=12, store=store, session_id="s")
    paid = store.query("SELECT cache_key, count(*) AS n FROM llm_calls WHERE NOT cache_hit "
                       "GROUP BY 1 HAVING count(*) > 1")
    assert paid == []
    assert store.query("SELECT count(*) AS n FROM llm_calls WHERE cache_hit")[0]["n"] >= 4


def test_store_gets_every_example_the_report_and_every_call(p2m_home):
    from tools.store import Store

    store = Store(Settings())
    good = good_teacher()
    k = itertools.count()

    def mixed(prompt):
        return "garbage" if ASK_INPUTS.search(prompt) and next(k) == 2 else good(prompt)
    res, client, _ = run(SPAM, mixed, n=9, store=store, session_id="s1",
                         config={"consistency_k": 1, "concurrency": 1})
    rows = store.query("SELECT accepted, round, source FROM examples WHERE session_id='s1'")
    assert len(rows) == len(res.examples) and sum(r["accepted"] for r in rows) == res.report.accepted
    assert sum(not r["accepted"] for r in rows) == 1
    rep = store.query("SELECT payload FROM events WHERE kind='data_report' AND session_id='s1'")
    assert json.loads(rep[0]["payload"])["accepted"] == res.report.accepted
    calls = store.query("SELECT purpose FROM llm_calls")
    assert len(calls) == client.usage["calls"] + client.usage["cache_hits"]
    assert {c["purpose"] for c in calls} == {"synth.attributes", "synth.generate", "synth.consistency"}


def test_small_embedded_teacher_report_says_it_is_weak():
    from tools.llm import WEAK_TEACHER_NOTE

    res, _, _ = run(SPAM, good_teacher(), n=2, embedded=True)
    assert WEAK_TEACHER_NOTE in res.report.warnings and "OPENAI_BASE_URL" in res.report.markdown()


def test_attribute_proposal_failure_falls_back_and_says_so():
    good = good_teacher()
    res, _, _ = run(SPAM, lambda p: "not json" if '"topics"' in p else good(p), n=2)
    assert any(w.startswith("subject proposal for 'spam' failed") for w in res.report.warnings)
    assert res.examples[0].params["topic"] in {"everyday life", "work and business", "technology",
                                               "health", "travel", "food", "sports",
                                               "money and shopping", "education", "entertainment",
                                               "science", "news and politics"}


def test_generation_task_asks_for_pairs_and_one_subject_list():
    res, _, fake = run(GEN, good_teacher(), n=3)
    assert len(res.accepted) >= 3 and res.report.label_counts == {}
    assert 'Write 3 new examples, each an input and its correct output' in gen_prompts(fake)[0]
    assert res.report.chart()["title"].startswith("Input length")
    assert list(res.report.attributes[0]["topics"]) == ["*"]


def test_targeted_generation_prompts_with_the_failures():
    client, fake = client_with(good_teacher())
    failures = [{"input": "URGENT your account is locked reply now", "expected": "spam",
                 "predicted": "ham"},
                Example(input="are we still on for tonight", output="ham", split="validation"),
                {"input": "call now to claim your reward", "gold": "spam", "pred": "ham"}]
    res = generate_targeted(GEN, client, failures, n=4, round=2, embedder=hashed_bow_embed,
                            config=SynthConfig(**CFG))
    assert len(res.accepted) >= 4 and all(e.params["targeted"] for e in res.examples)
    prompts = [c["messages"][-1][1] for c in fake.calls if "A model gets these inputs wrong" in c["messages"][-1][1]]
    assert prompts and any("URGENT your account is locked" in p for p in prompts)
    with pytest.raises(ValueError, match="needs an 'input'"):
        generate_targeted(SPAM, client, [{"expected": "spam"}], n=1, round=3)
    with pytest.raises(ValueError, match="at least one"):
        generate_targeted(SPAM, client, [], n=1, round=3)


def test_estimate_makes_no_call_and_bounds_the_round():
    client, fake = client_with(lambda p: pytest.fail("estimate must not call the teacher"))
    est = estimate_round(SPAM, 60, SynthConfig(consistency_k=2, items_per_request=6), client)
    assert est.requests == 13  # 60 / 0.8 accepted / 6 per request
    assert est.calls_max >= est.calls_expected >= est.requests
    assert est.prompt_tokens > 0 and est.seconds > 0 and "60 examples: about" in est.summary()
    assert estimate_round(SPAM, 60, SynthConfig(max_calls=10), client).calls_max == 10
    assert not fake.calls


def test_a_time_and_call_budget_buys_a_number_of_examples():
    client, _ = client_with(lambda p: pytest.fail("no call"))
    small = examples_for(SPAM, seconds=60, calls=400, client=client)
    big = examples_for(SPAM, seconds=600, calls=400, client=client)
    assert 0 < small < big
    assert examples_for(SPAM, seconds=600, calls=3, client=client) < big  # calls bound it too
    assert estimate_round(SPAM, big, client=client).seconds <= 600


def test_existing_examples_are_not_generated_again_but_the_same_round_replays():
    first, _, _ = run(SPAM, good_teacher(itertools.count()), n=4)
    replay = [e.input for e in first.accepted]

    def repeat(prompt):
        if m := ASK_INPUTS.search(prompt):
            return json.dumps({"inputs": replay[:int(m.group(1))]})
        return good_teacher()(prompt)
    res, _, _ = run(SPAM, repeat, n=4, round=2, existing=first.accepted, config={"attempts_factor": 1})
    assert res.report.accepted == 0 and set(res.report.rejected_by_reason) == {"duplicate"}


def test_progress_is_reported_per_request_and_token_budget_stops():
    seen = []
    res, _, _ = run(SPAM, good_teacher(), n=30, on_progress=seen.append, config={"max_tokens": 400})
    assert seen and seen[-1]["accepted"] == res.report.accepted
    assert [s["processed"] for s in seen] == list(range(1, len(seen) + 1))
    assert res.report.stopped.startswith("budget reached (token budget")


def test_zero_budget_makes_no_call_at_all():
    res, client, fake = run(SPAM, lambda p: pytest.fail("no call allowed"), n=5,
                            config={"max_calls": 0})
    assert client.usage["calls"] == 0 and not fake.calls
    assert res.report.requested == 0 and res.report.stopped.startswith("budget reached")


def test_endpoint_failing_ends_the_round_and_says_so():
    from tools.llm import LLMError

    def down(prompt):
        raise ConnectionError("connection refused")
    res, _, _ = run(NO_DEMOS, down, n=20, config={"propose_attributes": False})
    assert res.report.stopped.startswith("endpoint failing")
    assert res.report.errors == res.report.requested and res.report.accepted == 0
    assert any(w.startswith("Every request to the teacher failed") for w in res.report.warnings)
    assert LLMError  # the failures surfaced as LLMError inside the client
