"""Does the conversation ask the right questions with the real embedded teacher?

    python -m evals.conversation --json          # 5 descriptions, the default embedded model
    P2M_EMBEDDED_MODEL=smollm2-135m-instruct python -m evals.conversation

Each description goes through the real intake, clarify and confirm_spec nodes with
the embedded model (no fakes); the data plane never runs, since the session stops at
the first spec approval. For every question asked we record its gap and whether it was
relevant (its gap is one the description really leaves open, listed per case below),
then the scripted plain-language answer, and finally the spec the user is asked to
approve (kind, labels, metric). The descriptions are written for this benchmark; none
comes from the acceptance data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass
class Case:
    name: str
    description: str
    relevant: set[str]
    """Gaps a good analyst would ask about; an empty set means: ask nothing."""
    answers: list[str] = field(default_factory=list)
    """Plain-language replies, in order, to whatever is asked."""
    want_kind: str = "classification"
    want_labels: set[str] = field(default_factory=set)


CASES = [
    Case("email-routing", "I want to sort our customer emails so the right team gets them",
         {"labels_unknown", "too_vague", "no_examples"}, ["the teams are billing, tech support and sales"],
         want_labels={"billing", "tech support", "sales"}),
    Case("clear-sentiment", "Classify product reviews as positive or negative. 'Broke after a day' -> "
         "negative; 'Works great, would buy again' -> positive", set(),
         want_labels={"positive", "negative"}),
    Case("exemplified-intents", "Tag each chat message with one of our 12 intents, for example "
         "refund, cancel_order and track_package. 'where is my parcel' -> track_package",
         {"labels_exemplified"}, ["only these 3"],
         want_labels={"refund", "cancel_order", "track_package"}),
    Case("contradiction", "Classify each tweet as positive or negative, and also give a sentiment "
         "score from 1 to 10", {"contradiction", "no_examples"}, ["just the label, positive or negative"],
         want_labels={"positive", "negative"}),
    Case("undefined-output", "Rewrite our support replies", {"output_undefined", "no_examples",
         "too_vague"}, ["make each reply shorter and friendlier, one or two sentences. 'Your request "
                        "has been processed per policy.' -> 'All done! Your request went through.'"],
         want_kind="generation"),
]


def run_case(case: Case, home: Path) -> dict:
    """One description through the conversation, up to its first spec approval."""
    from agent.context import AgentContext, Sizes
    from agent.sessions import Sessions
    from tools.settings import Settings

    settings = Settings(home=home)
    # the data plane must not run: reaching find_data means the spec was approved
    stop = {n: (lambda s, runtime: {"error": "eval stop"}) for n in ("find_data", "generate")}
    sessions = Sessions(settings, overrides=stop)
    ctx = AgentContext.create(settings, sizes=Sizes.tiny())
    t0 = time.monotonic()
    turn = sessions.start(case.description, ctx)
    asked, answers = [], list(case.answers)
    while turn.interrupt and turn.interrupt.get("kind") == "question" and len(asked) < 4:
        gap = turn.interrupt.get("gap", "")
        reply = answers.pop(0) if answers else "use the defaults"
        asked.append({"gap": gap, "question": turn.interrupt.get("message", ""),
                      "relevant": gap in case.relevant, "reply": reply})
        turn = sessions.reply(turn.session_id, reply, ctx)
    spec = turn.state.get("spec") or {}
    labels = {str(x).lower() for x in spec.get("labels") or []}
    spec_ok = spec.get("kind") == case.want_kind and (not case.want_labels or labels == case.want_labels)
    return {"case": case.name, "questions": len(asked), "relevant": sum(a["relevant"] for a in asked),
            "should_ask": bool(case.relevant), "asked": asked,
            "ended_at": (turn.interrupt or {}).get("kind") or ("end" if turn.done else "?"),
            "spec": {k: spec.get(k) for k in ("kind", "labels", "metric", "input_format", "output_format")},
            "spec_ok": spec_ok, "seconds": round(time.monotonic() - t0, 1)}


def table(rows: list[dict]) -> str:
    out = ["| case | questions | relevant | gaps asked | spec kind / labels | spec as wanted | s |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        gaps = ", ".join(a["gap"] for a in r["asked"]) or "none"
        s = r["spec"]
        out.append(f"| {r['case']} | {r['questions']} | {r['relevant']} | {gaps} | {s['kind']} / "
                   f"{', '.join(s['labels'] or []) or '-'} | {'yes' if r['spec_ok'] else 'no'} | "
                   f"{r['seconds']} |")
    asked = sum(r["questions"] for r in rows)
    rel = sum(r["relevant"] for r in rows)
    hit = sum(bool(r["questions"]) == r["should_ask"] for r in rows)
    out.append(f"\n{asked} questions, {rel} relevant; asked when it should and only then in "
               f"{hit} of {len(rows)} cases; spec as wanted in {sum(r['spec_ok'] for r in rows)} "
               f"of {len(rows)}.")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.conversation", description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=[c.name for c in CASES])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    from tools.llm import embedded
    from tools.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="p2m-conv-")) / "home"  # one home: one embedded server
    rows = []
    try:
        for case in [c for c in CASES if c.name in a.cases]:
            rows.append(run_case(case, home))
            if a.json:
                print(json.dumps(rows[-1]), flush=True)
    finally:
        embedded.stop(Settings(home=home))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
