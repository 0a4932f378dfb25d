"""Pins the exact text of every synthetic-data prompt (editing one must be deliberate:
it changes the cache key of every call it renders)."""

from __future__ import annotations

from tools.contracts import Demonstration, TaskSpec
from tools.evaluate.prompts import teacher_messages
from tools.synth import prompts
from tools.synth.attributes import fallback_attributes
from tools.synth.config import SynthConfig
from tools.synth.plan import pick_label, plan_generate

SPEC = TaskSpec(instruction="Classify an SMS message as spam or ham.", kind="classification",
                labels=["spam", "ham"], input_format="an SMS message", output_format="a label",
                demonstrations=[Demonstration(input="WIN a free prize now, call 0800", output="spam"),
                                Demonstration(input="see you at lunch tomorrow", output="ham")])
BARE = TaskSpec(instruction="Classify a news headline by topic.", kind="classification",
                labels=["sports", "business", "science"])
SYSTEM = ("You write realistic, varied training examples for a machine learning model. "
          "Reply with JSON only.")
HEAD = ("Task: Classify an SMS message as spam or ham.\n"
        "Input format: an SMS message\n"
        "Output format: a label\n"
        "The output is exactly one of these labels: spam, ham.\n")
ITEMS = [{"topic": "travel", "style": "casual", "length": "one sentence"},
         {"topic": "bank alerts", "style": "formal", "length": "a few words"}]


def test_generate_prompt_text_asks_for_inputs_of_one_label():
    msgs = prompts.render_generate(SPEC, [("WIN a free prize now, call 0800", "spam")], ITEMS, "spam")
    assert msgs == [("system", SYSTEM), ("user", HEAD + (
        "Examples:\n"
        "Input: WIN a free prize now, call 0800\n"
        "Output: spam\n\n"
        'Write 2 new inputs whose correct output is "spam". Each must clearly have this output '
        "and differ from the others and from the examples:\n"
        "1. subject: travel; style: casual; length: one sentence\n"
        "2. subject: bank alerts; style: formal; length: a few words\n"
        'Reply as JSON: {"inputs": ["...", ...]}'))]


def test_generate_prompt_without_label_asks_for_pairs():
    msgs = prompts.render_generate(SPEC, [], ITEMS, None)
    assert msgs[1][1] == HEAD + (
        "Write 2 new examples, each an input and its correct output. Each must differ from the "
        "others and from the examples:\n"
        "1. subject: travel; style: casual; length: one sentence\n"
        "2. subject: bank alerts; style: formal; length: a few words\n"
        'Reply as JSON: {"examples": [{"input": "...", "output": "..."}, ...]}')


def test_targeted_prompt_text():
    msgs = prompts.render_targeted(SPEC, [("URGENT reply now", "spam")], 3, "spam")
    assert msgs == [("system", SYSTEM), ("user", HEAD + (
        "A model gets these inputs wrong:\n"
        "Input: URGENT reply now\n"
        "Correct output: spam\n\n"
        "Write 3 new examples of the same kind as these: similar inputs with different wording "
        'and details, each with its correct output (the output is "spam").\n'
        'Reply as JSON: {"examples": [{"input": "...", "output": "..."}, ...]}'))]


def test_attribute_prompts_per_label_and_for_more_subjects():
    assert prompts.render_attributes(SPEC, "ham", 10) == [("user", (
        "Task: Classify an SMS message as spam or ham.\n"
        "Input format: an SMS message\n"
        "Examples:\n"
        "Input: see you at lunch tomorrow\nOutput: ham\n\n"
        'Think of inputs whose correct output is "ham".\n'
        "List 10 different subjects or situations such inputs could be about (a few words each), "
        "and 4 different writing styles or sources for them.\n"
        'Reply as JSON: {"topics": ["..."], "styles": ["..."]}'))]
    again = prompts.render_attributes(BARE, None, 8, avoid=["cricket", "golf"])[0][1]
    assert again == ("Task: Classify a news headline by topic.\n"
                     "Input format: text\n"
                     "Think of inputs for this task.\n"
                     "Do not repeat these subjects: cricket; golf.\n"
                     "List 8 different subjects or situations such inputs could be about (a few "
                     "words each), and 4 different writing styles or sources for them.\n"
                     'Reply as JSON: {"topics": ["..."], "styles": ["..."]}')


def test_teacher_answer_prompt_used_for_consistency_and_annotation():
    assert teacher_messages(SPEC, "hello there") == [
        ("system", "Classify an SMS message as spam or ham.\nAnswer with exactly one label from "
                   "this list: spam, ham. Reply with the label only."),
        ("user", "WIN a free prize now, call 0800"), ("assistant", "spam"),
        ("user", "see you at lunch tomorrow"), ("assistant", "ham"),
        ("user", "hello there")]


def test_long_demonstrations_are_clipped():
    block = prompts.examples_block([("word " * 200, "x")])
    assert len(block) < 450 and block.count("...") == 1


def test_request_planning_is_deterministic_per_round_and_index():
    cfg, grid = SynthConfig(), fallback_attributes()
    a = plan_generate(SPEC, cfg, grid, round=2, index=7, n_requests=10, label="ham")
    b = plan_generate(SPEC, cfg, grid, round=2, index=7, n_requests=10, label="ham")
    c = plan_generate(SPEC, cfg, grid, round=2, index=8, n_requests=10, label="ham")
    assert (a.messages, a.seed, a.temperature, a.items) == (b.messages, b.seed, b.temperature, b.items)
    assert a.seed != c.seed and a.items != c.items
    assert a.seed == 1529706411  # crc32-based: the same in every process and Python run
    assert len(a.items) == cfg.items_per_request and len({i["topic"] for i in a.items}) == len(a.items)
    retired = frozenset(grid.for_label("ham")[:-2])
    d = plan_generate(SPEC, cfg, grid, round=2, index=7, n_requests=10, label="ham", retired=retired)
    assert not {i["topic"] for i in d.items} & retired  # retired subjects are not asked again


def test_label_choice_balances_and_counts_planned_requests():
    assert pick_label(["a", "b", "c"], {}, {}, 1.0, 6, 0) == "a"
    assert pick_label(["a", "b", "c"], {}, {"a": 1}, 1.0, 6, 0) == "b"
    assert pick_label(["a", "b"], {"a": 30, "b": 6}, {"b": 2}, 0.5, 6, 0) == "b"
    assert pick_label(["a", "b"], {"a": 30, "b": 6}, {"b": 5}, 1.0, 6, 0) == "a"
    assert pick_label([], {}, {}, 1.0, 6, 3) is None


def _spec_with_lengths(*words: int) -> TaskSpec:
    return TaskSpec(instruction="Classify a news article by topic.", kind="classification", labels=["a", "b"],
                    demonstrations=[Demonstration(input=" ".join(["w"] * n), output="a") for n in words])


def test_input_lengths_follow_the_demonstrations():
    # 40-word articles get article-length hints, never "a few words"; 5-10 word queries get short ones
    assert prompts.input_lengths(_spec_with_lengths(38, 45, 33, 52)) == (
        "about 25 words", "about 35 words", "about 40 words", "about 50 words", "about 70 words")
    assert prompts.input_lengths(_spec_with_lengths(7, 9, 11, 10)) == (
        "about 5 words", "about 7 words", "about 10 words", "about 11 words", "about 15 words")
    # capped by the schema's maxLength (600 chars ~ 100 words), generic without 2 demonstrations
    assert prompts.input_lengths(_spec_with_lengths(200, 300), max_chars=600)[-1] == "about 100 words"
    assert prompts.input_lengths(BARE) == prompts.LENGTHS


def test_planned_items_use_the_demonstrations_lengths():
    spec = _spec_with_lengths(38, 45, 33, 52)
    req = plan_generate(spec, SynthConfig(), fallback_attributes(spec), round=1, index=0, n_requests=4, label="a")
    assert req.items and all(it["length"] in prompts.input_lengths(spec) for it in req.items)
    assert "length: about " in req.messages[1][1]
