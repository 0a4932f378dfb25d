"""Every prompt the synthetic-data generator sends, in one place.

One request asks for several examples at once, each with its own attributes
(subject, style, length), so the teacher writes varied items and the fixed cost
of a request (the prompt) is paid once per batch. The part of the prompt that is
the same for every request of a task (system message, task block, examples)
comes first and what varies (label, per-item attributes) comes last: llama.cpp
then reuses its cached prefix and only reads the tail. Each template is pinned
by a test (tests/test_synth_prompts.py): editing one changes the cache key of
every call it renders, which is exactly the invalidation we want.
"""

from __future__ import annotations

from tools.contracts import TaskSpec

GENERATE_SYSTEM = ("You write realistic, varied training examples for a machine learning model. "
                   "Reply with JSON only.")

TASK_BLOCK = """Task: {instruction}
Input format: {input_format}
Output format: {output_format}
{labels_line}{examples_block}"""

WRITE_INPUTS = """Write {k} new inputs whose correct output is "{label}". Each must clearly have this output and differ from the others and from the examples:
{items}
Reply as JSON: {{"inputs": ["...", ...]}}"""

WRITE_PAIRS = """Write {k} new examples, each an input and its correct output. Each must differ from the others and from the examples:
{items}
Reply as JSON: {{"examples": [{{"input": "...", "output": "..."}}, ...]}}"""

TARGETED_BLOCK = """A model gets these inputs wrong:
{failures_block}Write {k} new examples of the same kind as these: similar inputs with different wording and details, each with its correct output{label_rule}.
Reply as JSON: {{"examples": [{{"input": "...", "output": "..."}}, ...]}}"""

ITEM = "{i}. subject: {topic}; style: {style}; length: {length}"

ATTRIBUTES_USER = """Task: {instruction}
Input format: {input_format}
{examples_block}{target_line}List {n} different subjects or situations such inputs could be about (a few words each), and 4 different writing styles or sources for them.
Reply as JSON: {{"topics": ["..."], "styles": ["..."]}}"""
TARGET_ALL = "Think of inputs for this task.\n"
TARGET_LABEL = 'Think of inputs whose correct output is "{label}".\n'
AVOID_LINE = "Do not repeat these subjects: {avoid}.\n"

LABELS_LINE = "The output is exactly one of these labels: {labels}.\n"
EXAMPLES_HEADER = "Examples:\n"
EXAMPLE_ITEM = "Input: {input}\nOutput: {output}\n\n"
FAILURE_ITEM = "Input: {input}\nCorrect output: {output}\n\n"
LABEL_RULE = ' (the output is "{label}")'

# Used when the teacher cannot propose attributes: broad enough for most text tasks.
FALLBACK_TOPICS = ("everyday life", "work and business", "technology", "health", "travel",
                   "food", "sports", "money and shopping", "education", "entertainment",
                   "science", "news and politics")
FALLBACK_STYLES = ("plain and neutral", "casual", "formal", "emotional")
LENGTHS = ("a few words", "one short sentence", "one sentence", "two or three sentences")
CHARS_PER_WORD = 6  # English average with the space: turns the schema's maxLength into words


def input_lengths(spec: TaskSpec, max_chars: int = 600) -> tuple[str, ...]:
    """Length hints for requested inputs, spread over the demonstrations' own lengths.

    Inputs as long as the user's examples are what the student will see: a task whose
    examples are 40-word news paragraphs should not be taught with "a few words" items,
    nor a task of 5-word queries with paragraphs. Hints go from a bit under the shortest
    demonstration to a bit over the longest (capped by the schema's maxLength); with
    fewer than 2 demonstrations the generic LENGTHS are used."""
    words = sorted(len(d.input.split()) for d in spec.demonstrations if d.input.strip())
    if len(words) < 2:
        return LENGTHS
    cap = max(3, max_chars // CHARS_PER_WORD)
    points = (0.7 * words[0], words[0], words[len(words) // 2], words[-1], 1.3 * words[-1])
    return tuple(f"about {n} words" for n in sorted({_round_words(min(cap, x)) for x in points}))


def _round_words(x: float) -> int:
    n = max(2, round(x))
    return n if n < 12 else 5 * round(n / 5) if n < 40 else 10 * round(n / 10)


def labels_line(spec: TaskSpec) -> str:
    return LABELS_LINE.format(labels=", ".join(spec.labels)) if spec.labels else ""


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


def task_block(spec: TaskSpec, pairs: list[tuple[str, str]]) -> str:
    """The fixed head of every generation prompt of a task (the cached prefix)."""
    return TASK_BLOCK.format(instruction=spec.instruction.strip(), input_format=spec.input_format,
                             output_format=spec.output_format, labels_line=labels_line(spec),
                             examples_block=examples_block(pairs))


def item_lines(items: list[dict]) -> str:
    """One numbered line per requested item with its attributes."""
    return "\n".join(ITEM.format(i=i, **it) for i, it in enumerate(items, 1))


def render_generate(spec: TaskSpec, pairs: list[tuple[str, str]], items: list[dict],
                    label: str | None) -> list[tuple[str, str]]:
    """Messages asking for len(items) new examples (inputs only when the label is given)."""
    if label is not None:
        tail = WRITE_INPUTS.format(k=len(items), label=label, items=item_lines(items))
    else:
        tail = WRITE_PAIRS.format(k=len(items), items=item_lines(items))
    return [("system", GENERATE_SYSTEM), ("user", task_block(spec, pairs) + tail)]


def render_targeted(spec: TaskSpec, failures: list[tuple[str, str]], k: int,
                    label: str | None) -> list[tuple[str, str]]:
    """Messages asking for k new examples close to inputs the student got wrong."""
    block = "".join(FAILURE_ITEM.format(input=_clip(i), output=_clip(o, 200)) for i, o in failures)
    tail = TARGETED_BLOCK.format(failures_block=block, k=k,
                                 label_rule=LABEL_RULE.format(label=label) if label else "")
    return [("system", GENERATE_SYSTEM), ("user", task_block(spec, []) + tail)]


def render_attributes(spec: TaskSpec, label: str | None, n: int = 10,
                      avoid: list[str] | None = None) -> list[tuple[str, str]]:
    """Messages asking the teacher for subjects (for one label, or the task) and styles."""
    pairs = [(d.input, d.output) for d in spec.demonstrations
             if label is None or d.output == label][:3]
    target = TARGET_LABEL.format(label=label) if label is not None else TARGET_ALL
    if avoid:
        target += AVOID_LINE.format(avoid="; ".join(avoid[:30]))
    user = ATTRIBUTES_USER.format(instruction=spec.instruction.strip(),
                                  input_format=spec.input_format,
                                  examples_block=examples_block(pairs), target_line=target, n=n)
    return [("user", user)]
