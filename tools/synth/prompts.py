"""Every prompt the synthetic-data generator sends, in one place.

Prompts are short on purpose: the embedded teacher is a 135M model whose
prompt processing costs about 5 ms per token on this CPU, and long prompts
make small models copy instead of write. Each template is pinned by a test
(tests/test_synth_prompts.py): editing one changes the cache key of every call
it renders, which is exactly the invalidation we want.
"""

from __future__ import annotations

import json

from tools.contracts import TaskSpec

GENERATE_SYSTEM = (
    "You write training examples for a machine learning model. Reply with one JSON "
    'object with the keys "input" and "output" and nothing else.'
)

GENERATE_USER = """Task: {instruction}
Input format: {input_format}
Output format: {output_format}
{labels_line}{examples_block}{write_line}Topic: {topic}. Style: {style}. Length of the input: {length}. Difficulty: {difficulty}.
{label_line}Reply as JSON: {{"input": "...", "output": "..."}}"""

TARGETED_USER = """Task: {instruction}
Input format: {input_format}
Output format: {output_format}
{labels_line}A model gets these inputs wrong:
{failures_block}Write ONE new example of the same kind as these: a similar input with different wording and details, and its correct output.
{label_line}Reply as JSON: {{"input": "...", "output": "..."}}"""

ANSWER_SYSTEM = (
    "You do the task exactly as described. Reply with one JSON object with the key "
    '"output" and nothing else.'
)

ANSWER_USER = """Task: {instruction}
{labels_line}Input: {input}
Reply as JSON: {{"output": "..."}}"""

ATTRIBUTES_USER = """Task: {instruction}
Input format: {input_format}
{examples_block}List 8 different topics or domains the inputs for this task could come from, and 4 different writing styles for them.
Reply as JSON: {{"topics": ["..."], "styles": ["..."]}}"""

WRITE_NEW = "Write ONE new example for this task, different from the examples above.\n"
WRITE_FIRST = "Write ONE new example for this task.\n"
LABELS_LINE = "The output is exactly one of these labels: {labels}.\n"
LABEL_LINE = 'The output of your example must be "{label}": write an input that clearly has this label.\n'
EXAMPLES_HEADER = "Examples:\n"
EXAMPLE_ITEM = "Input: {input}\nOutput: {output}\n\n"
FAILURE_ITEM = "Input: {input}\nCorrect output: {output}\n\n"

# Used when the teacher cannot propose attributes: broad enough for most text tasks.
FALLBACK_TOPICS = ("everyday life", "work and business", "technology", "health", "travel",
                   "food", "sports", "money and shopping", "education", "entertainment",
                   "science", "news and politics")
FALLBACK_STYLES = ("plain and neutral", "casual", "formal", "emotional")
LENGTHS = ("short (a few words)", "one sentence", "two or three sentences")
DIFFICULTIES = ("easy", "medium", "hard (subtle or ambiguous)")


def _labels_line(spec: TaskSpec) -> str:
    return LABELS_LINE.format(labels=", ".join(spec.labels)) if spec.labels else ""


def _label_line(label: str | None) -> str:
    return LABEL_LINE.format(label=label) if label else ""


def _clip(text: str, limit: int = 400) -> str:
    # Long demonstrations blow up prompt cost and invite copying; the gist is enough.
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def examples_block(pairs: list[tuple[str, str]]) -> str:
    """The few-shot block; empty when there are no pairs (a spec without demos)."""
    if not pairs:
        return ""
    return EXAMPLES_HEADER + "".join(
        EXAMPLE_ITEM.format(input=_clip(i), output=_clip(o, 200)) for i, o in pairs)


def render_generate(spec: TaskSpec, pairs: list[tuple[str, str]], *, topic: str, style: str,
                    length: str, difficulty: str, label: str | None) -> list[tuple[str, str]]:
    """Messages asking for one new (input, output) pair with these attributes."""
    user = GENERATE_USER.format(
        instruction=spec.instruction.strip(), input_format=spec.input_format,
        output_format=spec.output_format, labels_line=_labels_line(spec),
        examples_block=examples_block(pairs), write_line=WRITE_NEW if pairs else WRITE_FIRST,
        topic=topic, style=style, length=length,
        difficulty=difficulty, label_line=_label_line(label))
    return [("system", GENERATE_SYSTEM), ("user", user)]


def render_targeted(spec: TaskSpec, failures: list[tuple[str, str]], *,
                    label: str | None) -> list[tuple[str, str]]:
    """Messages asking for one new example close to inputs the student got wrong."""
    block = "".join(FAILURE_ITEM.format(input=_clip(i), output=_clip(o, 200)) for i, o in failures)
    user = TARGETED_USER.format(
        instruction=spec.instruction.strip(), input_format=spec.input_format,
        output_format=spec.output_format, labels_line=_labels_line(spec),
        failures_block=block, label_line=_label_line(label))
    return [("system", GENERATE_SYSTEM), ("user", user)]


def render_answer(spec: TaskSpec, text: str) -> list[tuple[str, str]]:
    """Messages asking the teacher to do the task on `text` (self-consistency)."""
    user = ANSWER_USER.format(instruction=spec.instruction.strip(),
                              labels_line=_labels_line(spec), input=_clip(text, 2000))
    return [("system", ANSWER_SYSTEM), ("user", user)]


def render_attributes(spec: TaskSpec) -> list[tuple[str, str]]:
    """Messages asking the teacher for topics and styles that suit the task."""
    pairs = [(d.input, d.output) for d in spec.demonstrations[:3]]
    user = ATTRIBUTES_USER.format(instruction=spec.instruction.strip(),
                                  input_format=spec.input_format,
                                  examples_block=examples_block(pairs))
    return [("user", user)]


def reply_json(input: str, output: str) -> str:
    """The JSON a well-behaved teacher returns (tests and fakes use it)."""
    return json.dumps({"input": input, "output": output})
