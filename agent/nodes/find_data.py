"""find_data: show the datasets that fit the task, let the user pick, keep the rows.

Finding, fitting and loading are tools.hub's job (`fit_candidates`,
`load_chosen`); where the rows go and how the test split is held out is
SessionData's. This node asks the user and writes state.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.data_files import SessionData
from agent.human import ask_user, is_approval
from agent.state import AgentState
from tools.contracts import TaskSpec


def _table(cands, fits) -> str:
    fitted = {f.candidate.id: f for f in fits}
    lines = ["| # | dataset | score | rows | reachable | fits the task |", "|---|---|---|---|---|---|"]
    order = [f.candidate for f in fits] + [c for c in cands if c.id not in fitted]
    for i, c in enumerate(order[:10], 1):
        f = fitted.get(c.id)
        lines.append(f"| {i} | {c.id} | {c.score:.3f} | {f.rows if f else '-'} | "
                     f"{'yes' if c.reachable else 'no (offline)'} | {'yes' if f else '-'} |")
    return "\n".join(lines)


def find_data(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    from tools.hub import fit_candidates, fit_dataset, load_chosen

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    found = fit_candidates(spec, ctx.settings, data_files=state.get("data_files") or [],
                           catalogs=state.get("catalogs") or [])
    fits, notes = found.fits, list(found.notes)
    table = _table(found.candidates, fits)
    default = "1" if fits else "none"
    reply, msgs = ask_user({"kind": "pick_data", "message": "Datasets I found:\n" + table
                            + "\n\nReply with the numbers to use (e.g. '1' or '1,2'), or 'none' "
                            "for synthetic data only.", "options": [f.candidate.id for f in fits]},
                           state, ctx, default=default)
    picks = [int(x) - 1 for x in reply.replace(",", " ").split() if x.isdigit()]
    chosen = [fits[i] for i in picks if 0 <= i < len(fits)]
    update: dict = {}
    new_spec, label_msgs = _follow_data_labels(spec, chosen, state, ctx)
    msgs += label_msgs
    if new_spec is not spec:  # the data's label set: fit the chosen data again to map every label
        spec = new_spec
        chosen = [fit_dataset(spec, f.candidate, settings=ctx.settings) for f in chosen]
        chosen = [f for f in chosen if not f.rejected]
        ctx.store.save_spec(state["session_id"], spec.model_dump())
        update["spec"] = spec.model_dump()
    if spec.kind == "classification" and len(spec.labels) < 2:
        msg = ("There are no labels to train for: the description names none and no chosen "
               "dataset has a label column. Name the labels (e.g. 'as billing, technical or "
               "other') or give a labeled file with --data.")
        return {"messages": msgs + [{"role": "assistant", "kind": "error", "content": msg}],
                "error": "no_labels"}
    got = load_chosen(spec, chosen, ctx.settings, cap=ctx.sizes.max_retrieved_rows,
                      test_rows=ctx.sizes.eval_rows)
    notes += got.notes
    data = SessionData(ctx.settings, state["session_id"], ctx.store)
    train, _, eval_source = data.save_retrieved(got.train, got.test, got.eval_source,
                                                max_test=ctx.sizes.eval_rows)
    summary = (f"Using {', '.join(f.candidate.id for f in chosen)}: {len(train)} training rows; "
               f"evaluation on {eval_source}." if chosen and train else
               "No retrieved data fits; the model will learn from synthetic data only.")
    if notes:
        summary += "\nNotes: " + "; ".join(notes[:6])
    ctx.emit("data", table=table, summary=summary)
    msgs.append({"role": "assistant", "kind": "data", "content": "Datasets:\n" + table + "\n\n" + summary})
    return {**update, "messages": msgs, "chosen_data": [f.candidate.model_dump() for f in chosen],
            "eval_source": eval_source}


def _follow_data_labels(spec: TaskSpec, chosen, state: AgentState, ctx) -> tuple[TaskSpec, list[dict]]:
    """Adopt (autopilot) or offer (interactive) the label set of the first chosen dataset that
    holds the task's labels and more; returns (spec, messages)."""
    from tools.hub.labels import adopt, label_offer

    for fit in chosen:
        offer = label_offer(spec, fit.candidate.id, fit.data_labels)
        if offer is None:
            continue
        reply, msgs = ask_user({"kind": "adopt_labels", "message": offer.message(spec),
                                "labels": [{"name": lab, "rows": offer.rows[lab],
                                            "in_spec": lab in offer.matched.values()}
                                           for lab in offer.labels],
                                "options": [f"use all {len(offer.labels)}",
                                            f"keep my {len(spec.labels)}"]},
                               state, ctx, default="yes")
        if spec.labels and not is_approval(reply) and not reply.lower().startswith("use all"):
            msgs.append({"role": "assistant", "kind": "text", "content":
                         f"Keeping your {len(spec.labels)} labels; {offer.rows_left_out:,} rows of "
                         f"{offer.dataset} with other labels are left out."})
            return spec, msgs
        new, notes = adopt(spec, offer)
        msgs.append({"role": "assistant", "kind": "spec_diff", "content": "The label set follows "
                     "the data: " + "; ".join(notes), "diff": notes})
        return new, msgs
    return spec, []
