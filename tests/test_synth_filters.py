"""The filters one by one, and near-duplicate search with the real packaged MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_synth_prompts import SPEC
from tools.contracts import Demonstration, Example, TaskSpec
from tools.synth import filters as F
from tools.synth.config import SynthConfig, answer_schema, pair_schema
from tools.synth.embed import hashed_bow_embed
from tools.synth.report import build_report


def test_normalize_and_canonical_label():
    assert F.normalize_text("  Hello,   WORLD!! ") == "hello world"
    assert F.check_label(SPEC, " SPAM. ") == ("pass", "spam")
    verdict, _ = F.check_label(SPEC, "junk")
    assert verdict == "label 'junk' is not one of ['spam', 'ham']"
    assert F.check_label(SPEC, "spam", "Spam!")[0] == "input is only the label name 'spam'"
    gen = TaskSpec(instruction="x", kind="generation")
    assert F.check_label(gen, "anything") == ("pass", "anything")


def test_length_bounds_follow_config_and_demonstrations():
    cfg = SynthConfig(min_input_words=3, max_input_chars=50)
    assert F.check_length(SPEC, cfg, "one two three", "ham") == "pass"
    assert F.check_length(SPEC, cfg, "one", "ham") == "input has 1 word(s), fewer than 3"
    assert F.check_length(SPEC, cfg, "x " * 40, "ham").startswith("input has 80 characters")
    assert F.check_length(SPEC, cfg, "one two three", " ") == "output is empty"
    assert F.check_length(SPEC, cfg, "[ { ] }", "ham") == "input has no letters or digits"
    short_demo = SPEC.model_copy(update={"demonstrations": [Demonstration(input="Hi", output="ham")]})
    assert F.check_length(short_demo, cfg, "hello", "ham") == "pass"  # demos widen the bound


def test_agreement_by_task_kind():
    cfg = SynthConfig(consistency_f1=0.5)
    assert F.agrees(SPEC, cfg, "spam", "Spam")
    assert not F.agrees(SPEC, cfg, "spam", "ham")
    gen = TaskSpec(instruction="x", kind="generation")
    assert F.agrees(gen, cfg, "could you please send the report", "please send the report")
    assert not F.agrees(gen, cfg, "could you please send the report", "no")
    assert F.token_f1("a b c", "a b c") == 1.0 and F.token_f1("a", "b") == 0.0


def test_text_index_exact_and_near_with_threshold():
    idx = F.TextIndex(hashed_bow_embed, threshold=0.75)
    idx.add(["Win a FREE prize now"])
    v = idx.embed(["win a free prize now!!", "win a free prize today", "lunch at noon?"])
    assert idx.check("win a free prize now!!", v[0], "x").startswith("same text as x")
    assert idx.check("win a free prize today", v[1], "x").startswith("near x")
    assert idx.check("lunch at noon?", v[2], "x") == "pass"
    exact_only = F.TextIndex(hashed_bow_embed, threshold=None)
    exact_only.add(["Win a FREE prize now"])
    assert exact_only.embed(["a"]) is None
    assert exact_only.check("win a free prize today", None, "x") == "pass"


def test_schemas_cap_lengths_and_list_labels():
    cfg = SynthConfig(max_input_chars=40)
    js = pair_schema(SPEC, cfg).model_json_schema()
    assert js["properties"]["input"]["maxLength"] == 40
    assert js["properties"]["output"]["enum"] == ["spam", "ham"]
    # lenient validation: a wrong label reaches the label filter instead of failing the parse
    assert pair_schema(SPEC, cfg).model_validate({"input": "hi there", "output": "urgent"})
    ans = answer_schema(SPEC, cfg)
    assert ans.model_json_schema()["properties"]["output"]["enum"] == ["spam", "ham"]
    with pytest.raises(Exception):
        ans.model_validate({"output": "urgent"})


def test_report_counts_first_failing_filter_and_balance():
    def ex(out, ok, **verdicts):
        return Example(input="some input words", output=out, accepted=ok,
                       verdicts={"parse": "pass", **verdicts})

    class Spent:
        calls, cache_hits, tokens = 3, 1, 99
    exs = [ex("spam", True), ex("spam", True), ex("spam", True), ex("ham", True),
           ex("ham", False, duplicate="same text"), ex("ham", False, label="pass", length="too short"),
           Example(input="{oops", output="", accepted=False, verdicts={"parse": "malformed reply"})]
    rep = build_report(exs, round_no=2, teacher="t", target=4, requested=7, errors=1,
                       labels=["spam", "ham"], consistency=[1.0, 0.0], spend=Spent(), seconds=1.0,
                       stopped="target reached", embedded=False, notes=[])
    assert rep.rejected_by_reason == {"parse": 1, "length": 1, "duplicate": 1}
    assert rep.malformed == 1 and rep.generated == 6 and rep.duplicate_rate == round(1 / 6, 4)
    assert rep.label_counts == {"spam": 3, "ham": 1}
    assert rep.consistency_agreement == 0.5
    assert any(w.startswith("Labels are unbalanced") for w in rep.warnings)
    assert rep.lengths.min == 3 and sum(rep.lengths.counts) == 4


def test_real_minilm_flags_paraphrases_and_passes_different_text():
    from tools.synth.embed import minilm_embed

    idx = F.TextIndex(minilm_embed, threshold=0.85)
    idx.add(["How do I reset my password?"])
    v = idx.embed(["How can I reset my password?", "What is the capital of France?"])
    assert v.shape == (2, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert idx.check("How can I reset my password?", v[0], "x").startswith("near x")
    assert idx.check("What is the capital of France?", v[1], "x") == "pass"
