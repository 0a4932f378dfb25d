"""verify: the user as the source of gold labels ("are these right?").

When the evaluation rows are the teacher's (held-out synthetic rows, not a real
test split) and a person is there to answer, a handful of them is shown with
the teacher's labels. What the user confirms or corrects becomes a
user-verified evaluation set (provenance `user-verified`), stored with the
session and scored beside the estimate. Autopilot, a real test split, or a
second round skip it.
"""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.data_files import SessionData
from agent.human import ask_user, is_approval
from agent.state import AgentState
from tools.contracts import Example, TaskSpec
from tools.spec_edit import label_key

SHOW = 8
_SKIP = re.compile(r"(?i)^\s*(skip|later|no time|not now|none)\b")
_ITEM = re.compile(r"(\d+)\s*[:=]\s*([^,;\n]+)|(\d+)\s+(?:is\s+)?(wrong|x|unsure|\?)")


def parse_verdicts(reply: str, shown: list[Example], labels: list[str]) -> tuple[list[Example], list[str]]:
    """(verified rows, problems) from "all correct", "3: billing; 5=other", "2 wrong" or "skip".

    Rows not mentioned count as confirmed unless the reply is "skip"; a row marked wrong
    without a label is left out (no gold for it); a correction outside the label set is refused.
    """
    if not reply.strip() or _SKIP.match(reply):
        return [], []
    canon = {label_key(l): l for l in labels}
    fixed: dict[int, str | None] = {}
    problems: list[str] = []
    for m in _ITEM.finditer(reply):
        i = int(m[1] or m[3]) - 1
        if not 0 <= i < len(shown):
            problems.append(f"there is no item {i + 1}")
            continue
        if m[3]:
            fixed[i] = None
            continue
        lab = m[2].strip().strip(".'\"")
        if labels and label_key(lab) not in canon:
            problems.append(f"item {i + 1}: {lab!r} is not one of the labels")
            continue
        fixed[i] = canon.get(label_key(lab), lab)
    if not fixed and not is_approval(reply) and not re.search(r"(?i)\ball\b.*\b(right|correct|good)\b", reply):
        return [], problems or ["I could not read that; nothing was recorded"]
    out = []
    for i, ex in enumerate(shown):
        label = fixed.get(i, ex.output)
        if label is None:
            continue
        out.append(Example(input=ex.input, output=label, split="test", source="user-verified",
                           params={"teacher_label": ex.output, "corrected": label != ex.output}))
    return out, problems


def verify(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    data = SessionData(ctx.settings, state["session_id"], ctx.store)
    eval_source = state.get("eval_source") or ""
    if (ctx.autopilot or state.get("round", 1) != 1 or data.verified()
            or spec.kind != "classification" or eval_source.startswith("the real test split")):
        return {}
    shown = data.test()[:SHOW]
    if not shown:
        return {}
    lines = [f"{i}. {' '.join(e.input.split())[:200]} -> **{e.output}**" for i, e in enumerate(shown, 1)]
    message = ("Are these labels right? They are the teacher's; what you confirm becomes a small "
               "gold set the model is also scored on.\n" + "\n".join(lines)
               + "\n\nReply 'all correct', corrections like '3: billing; 5: other', '2 wrong', or 'skip'.")
    reply, msgs = ask_user({"kind": "verify_labels", "message": message, "labels": spec.labels,
                            "items": [{"i": i, "input": e.input, "label": e.output}
                                      for i, e in enumerate(shown, 1)],
                            "options": ["all correct", "skip"]}, state, ctx, default="skip")
    rows, problems = parse_verdicts(reply, shown, spec.labels)
    if rows:
        data.save_verified(rows)
    fixed = sum(r.params["corrected"] for r in rows)
    text = (f"Recorded {len(rows)} user-verified rows ({fixed} corrected)." if rows
            else "Nothing recorded.") + (" " + "; ".join(problems) if problems else "")
    msgs.append({"role": "assistant", "kind": "text", "content": text})
    return {"messages": msgs}
