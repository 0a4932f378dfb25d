"""Pins the exact text of every synthetic-data prompt (editing one must be deliberate:
it changes the cache key of every call it renders)."""

from __future__ import annotations

from tools.contracts import Demonstration, TaskSpec
from tools.synth import prompts
from tools.synth.config import SynthConfig
from tools.synth.plan import assign_labels, plan_generate
from tools.synth.attributes import fallback_attributes

SPEC = TaskSpec(instruction="Classify an SMS message as spam or ham.", kind="classification",
                labels=["spam", "ham"], input_format="an SMS message", output_format="a label",
                demonstrations=[Demonstration(input="WIN a free prize now, call 0800", output="spam"),
                                Demonstration(input="see you at lunch tomorrow", output="ham")])
BARE = TaskSpec(instruction="Classify a news headline by topic.", kind="classification",
                labels=["sports", "business", "science"])
SYSTEM = ('You write training examples for a machine learning model. Reply with one JSON object '
          'with the keys "input" and "output" and nothing else.')


def test_generate_prompt_text():
    msgs = prompts.render_generate(SPEC, [("WIN a free prize now, call 0800", "spam")],
                                   topic="travel", style="casual", length="one sentence",
                                   difficulty="easy", label="spam")
    assert msgs == [("system", SYSTEM), ("user", (
        "Task: Classify an SMS message as spam or ham.\n"
        "Input format: an SMS message\n"
        "Output format: a label\n"
        "The output is exactly one of these labels: spam, ham.\n"
        "Examples:\n"
        "Input: WIN a free prize now, call 0800\n"
        "Output: spam\n\n"
        "Write ONE new example for this task, different from the examples above.\n"
        "Topic: travel. Style: casual. Length of the input: one sentence. Difficulty: easy.\n"
        'The output of your example must be "spam": write an input that clearly has this label.\n'
        'Reply as JSON: {"input": "...", "output": "..."}'))]


def test_generate_prompt_without_demonstrations_or_label():
    msgs = prompts.render_generate(BARE, [], topic="travel", style="casual",
                                   length="one sentence", difficulty="easy", label=None)
    assert msgs[1][1] == (
        "Task: Classify a news headline by topic.\n"
        "Input format: text\n"
        "Output format: text\n"
        "The output is exactly one of these labels: sports, business, science.\n"
        "Write ONE new example for this task.\n"
        "Topic: travel. Style: casual. Length of the input: one sentence. Difficulty: easy.\n"
        'Reply as JSON: {"input": "...", "output": "..."}')


def test_targeted_prompt_text():
    msgs = prompts.render_targeted(SPEC, [("URGENT reply now", "spam")], label="spam")
    assert msgs == [("system", SYSTEM), ("user", (
        "Task: Classify an SMS message as spam or ham.\n"
        "Input format: an SMS message\n"
        "Output format: a label\n"
        "The output is exactly one of these labels: spam, ham.\n"
        "A model gets these inputs wrong:\n"
        "Input: URGENT reply now\n"
        "Correct output: spam\n\n"
        "Write ONE new example of the same kind as these: a similar input with different "
        "wording and details, and its correct output.\n"
        'The output of your example must be "spam": write an input that clearly has this label.\n'
        'Reply as JSON: {"input": "...", "output": "..."}'))]


def test_answer_prompt_text():
    assert prompts.render_answer(SPEC, "hello   there\n") == [
        ("system", 'You do the task exactly as described. Reply with one JSON object with the '
                   'key "output" and nothing else.'),
        ("user", "Task: Classify an SMS message as spam or ham.\n"
                 "The output is exactly one of these labels: spam, ham.\n"
                 "Input: hello there\n"
                 'Reply as JSON: {"output": "..."}')]


def test_attributes_prompt_text():
    assert prompts.render_attributes(SPEC) == [("user", (
        "Task: Classify an SMS message as spam or ham.\n"
        "Input format: an SMS message\n"
        "Examples:\n"
        "Input: WIN a free prize now, call 0800\nOutput: spam\n\n"
        "Input: see you at lunch tomorrow\nOutput: ham\n\n"
        "List 8 different topics or domains the inputs for this task could come from, "
        "and 4 different writing styles for them.\n"
        'Reply as JSON: {"topics": ["..."], "styles": ["..."]}'))]


def test_long_demonstrations_are_clipped():
    block = prompts.examples_block([("word " * 200, "x")])
    assert len(block) < 450 and block.count("...") == 1


def test_request_planning_is_deterministic_per_round_and_index():
    cfg, grid = SynthConfig(), fallback_attributes()
    a = plan_generate(SPEC, cfg, grid, round=2, index=7, n=10, pool=[], label="ham")
    b = plan_generate(SPEC, cfg, grid, round=2, index=7, n=10, pool=[], label="ham")
    c = plan_generate(SPEC, cfg, grid, round=2, index=8, n=10, pool=[], label="ham")
    assert (a.messages, a.seed, a.temperature) == (b.messages, b.seed, b.temperature)
    assert a.seed != c.seed
    assert a.seed == 1529706411  # crc32-based: the same in every process and Python run


def test_label_assignment_balances_and_does_not_starve():
    assert assign_labels(["a", "b", "c"], {}, {}, 6, 0) == ["a", "b", "c", "a", "b", "c"]
    assert assign_labels(["a", "b"], {"a": 3}, {}, 3, 0) == ["b", "b", "b"]
    # a label the teacher keeps failing still leaves room for the others
    assert "a" in assign_labels(["a", "b"], {"a": 2}, {"b": 12}, 4, 0)
