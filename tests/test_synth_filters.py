"""The filters one by one, and near-duplicate search with the real packaged MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_synth_prompts import SPEC
from tools.contracts import Demonstration, Example, TaskSpec
from tools.synth import filters as F
from tools.evaluate.prompts import answer_schema
from tools.synth.config import SynthConfig, inputs_schema, pair_model, pairs_schema
from tools.synth.diversity import distinct_n, embedding_spread
from tools.synth.embed import hashed_bow_embed
from tools.synth.parse import salvage


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
    js = pairs_schema(SPEC, 5, cfg).model_json_schema()
    item = js["$defs"]["SyntheticExample"]["properties"]
    assert js["properties"]["examples"]["maxItems"] == 5
    assert item["input"]["maxLength"] == 40 and item["output"]["enum"] == ["spam", "ham"]
    # lenient validation: a wrong label reaches the label filter instead of failing the parse
    assert pair_model(SPEC, cfg).model_validate({"input": "hi there", "output": "urgent"})
    ins = inputs_schema(4, cfg).model_json_schema()["properties"]["inputs"]
    assert ins["maxItems"] == 4 and ins["items"]["maxLength"] == 40
    ans = answer_schema(SPEC)
    assert ans.model_json_schema()["properties"]["output"]["enum"] == ["spam", "ham"]
    with pytest.raises(Exception):
        ans.model_validate({"output": "urgent"})


def test_salvage_keeps_valid_items_of_a_torn_or_fenced_reply():
    good, bad = salvage('```json\n{"inputs": ["a", "b"]}\n```', "inputs")
    assert good == ["a", "b"] and bad == []
    good, bad = salvage('{"inputs": ["one", "", "two", "thr', "inputs")
    assert good == ["one", "two"] and [why for _, why in bad] == [
        "item is not a non-empty string", "the reply was cut off inside the list"]
    pm = pair_model(SPEC, SynthConfig())
    good, bad = salvage('{"examples": [{"input": "x y", "output": "spam"}, {"input": "no output"}]}',
                        "examples", pm)
    assert [g.input for g in good] == ["x y"] and "output" in bad[0][1]
    good, bad = salvage("I cannot do that", "inputs")
    assert good == [] and bad == [("I cannot do that", "no 'inputs' list in the reply")]


def test_echo_filter_catches_attribute_echoes_and_loops():
    attrs = {"topic": "bank alerts", "style": "formal", "length": "a few words"}
    assert F.check_echo("about bank alerts; formal; a few words", attrs).startswith("input repeats the request")
    assert F.check_echo("Your bank alerts are ready, log in to see them", attrs) == "pass"
    assert F.check_echo("bad " * 6 + "very bad " * 6, attrs).startswith("input repeats itself")


def test_diversity_measures():
    assert distinct_n(["a b c", "a b d"], 1) == round(4 / 6, 4)
    assert distinct_n(["a b c", "a b d"], 2) == 0.75
    assert distinct_n([], 2) == 0.0
    same = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (3, 1))
    assert embedding_spread(same) == 0.0
    apart = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert embedding_spread(apart) > 0.2 and embedding_spread(apart[:1]) is None


def test_real_minilm_flags_paraphrases_and_passes_different_text():
    from tools.synth.embed import minilm_embed

    idx = F.TextIndex(minilm_embed, threshold=0.85)
    idx.add(["How do I reset my password?"])
    v = idx.embed(["How can I reset my password?", "What is the capital of France?"])
    assert v.shape == (2, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert idx.check("How can I reset my password?", v[0], "x").startswith("near x")
    assert idx.check("What is the capital of France?", v[1], "x") == "pass"


def test_text_to_text_outputs_must_keep_the_demonstrated_form():
    temporal = TaskSpec(instruction="Normalize the temporal expressions.", kind="generation",
                        demonstrations=[Demonstration(input="a", output="2009 == 2009 | 2010 == 2010"),
                                        Demonstration(input="b", output="July == 2012-07"),
                                        Demonstration(input="c", output="N/A"),
                                        Demonstration(input="d", output="N/A")])
    rules = F.output_rules(temporal)
    assert rules == {"separators": [" == "], "constants": ["N/A"]}
    assert F.check_format(rules, "July 2012") == "output lacks ' == ', which every example's output has"
    assert F.check_format(rules, "N/A") == "pass" and F.check_format(rules, "May == 2012-05") == "pass"
    code = TaskSpec(instruction="Write a one-line Python snippet.", kind="generation",
                    demonstrations=[Demonstration(input="a", output="df.to_dict()"),
                                    Demonstration(input="b", output="arr[:, 0]")])
    rules = F.output_rules(code)
    assert rules == {"python": True}
    assert F.check_format(rules, "df.to_dict(") == "output is not valid Python (it does not parse)"
    assert F.output_rules(SPEC) == {}  # classification: the label filter does this job


def test_an_input_that_carries_a_label_as_a_tag_is_rejected():
    spec = TaskSpec(instruction="Classify questions by answer type.", kind="classification",
                    labels=["ABBR", "DESC", "HUM", "LOC"])
    verdict, _ = F.check_label(spec, "HUM", "What is the capital of France? (LOC)")
    assert verdict == "input carries the label 'LOC' as a tag"
    assert F.check_label(spec, "ABBR", "What does NASA [abbr] stand for?")[0].startswith("input carries")
    assert F.check_label(spec, "HUM", "Who wrote it (the first book)?") == (F.PASS, "HUM")
    assert F.check_label(spec, "LOC", "What is the capital of France?") == (F.PASS, "LOC")
