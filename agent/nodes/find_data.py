"""find_data: search the Hub index and catalogs, fit candidates to the task, pick.

The user's own files come first; then the best reachable datasets that fit the
task's columns and labels. A real test split of a chosen dataset becomes the
held-out evaluation set; otherwise part of the data is held out.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.data_files import data_dir, record, sample, write_examples
from agent.human import ask_user
from agent.state import AgentState
from tools.contracts import TaskSpec

MAX_FITS = 4  # fitting loads content: only the top reachable candidates are tried


def _fit_candidates(spec, state, ctx, notes):
    from tools.hub.mapping import fit_dataset, user_file_candidate
    from tools.hub.search import DatasetFilters, search_datasets

    fits = []
    for f in state.get("data_files") or []:
        fit = fit_dataset(spec, user_file_candidate(f), client=None, settings=ctx.settings)
        (notes.append(f"your file {f}: {fit.rejected}") if fit.rejected else fits.append(fit))
    catalogs = state.get("catalogs") or []
    res = search_datasets(spec.instruction, ctx.settings, catalogs=catalogs, spec=spec, k=10)
    notes += res.notes
    # What can be loaded now (catalogs, and the Hub when online) is ranked on its own,
    # so a reachable dataset is not crowded out by Hub-only ones offline.
    reachable = search_datasets(spec.instruction, ctx.settings, catalogs=catalogs, spec=spec, k=10,
                                filters=DatasetFilters(kind=spec.kind, reachable_only=True))
    tried = 0
    for cand in reachable.candidates:
        if not cand.reachable or tried >= MAX_FITS:
            continue
        tried += 1
        fit = fit_dataset(spec, cand, client=None, settings=ctx.settings)
        (notes.append(f"skipped {cand.id}: {fit.rejected}") if fit.rejected else fits.append(fit))
    shown = {c.id for c in res.candidates}
    return fits, [c for c in reachable.candidates if c.id not in shown] + res.candidates


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
    from tools.hub.content import ContentUnavailable, load_content
    from tools.hub.mapping import load_examples

    ctx = runtime.context
    spec = TaskSpec.model_validate(state["spec"])
    notes: list[str] = []
    fits, cands = _fit_candidates(spec, state, ctx, notes)
    table = _table(cands, fits)
    default = "1" if fits else "none"
    reply, msgs = ask_user({"kind": "pick_data", "message": "Datasets I found:\n" + table
                            + "\n\nReply with the numbers to use (e.g. '1' or '1,2'), or 'none' "
                            "for synthetic data only.", "options": [f.candidate.id for f in fits]},
                           state, ctx, default=default)
    picks = [int(x) - 1 for x in reply.replace(",", " ").split() if x.isdigit()]
    chosen = [fits[i] for i in picks if 0 <= i < len(fits)]
    train, test, eval_source = [], [], ""
    for fit in chosen:
        try:
            content = load_content(fit.candidate.location or fit.candidate.id,
                                   fit.candidate.config, ctx.settings)
        except ContentUnavailable as e:
            notes.append(str(e))
            continue
        rows = load_examples(spec, fit.candidate, ctx.settings, cap=ctx.sizes.max_retrieved_rows,
                             splits=[fit.candidate.split], label_map=fit.label_map, content=content)
        train += rows
        if not test and "test" in content.splits and fit.candidate.split != "test":
            test = load_examples(spec, fit.candidate, ctx.settings, cap=None, splits=["test"],
                                 label_map=fit.label_map, content=content)
            test = sample(test, ctx.sizes.eval_rows)
            eval_source = f"the real test split of {fit.candidate.id} ({len(test)} rows)"
    if train and not test:  # hold out a fixed slice of the retrieved rows instead
        k = max(1, min(len(train) // 5, ctx.sizes.eval_rows))
        test, train = train[-k:], train[:-k]
        eval_source = f"{k} held-out rows of the retrieved data"
    for e in test:
        e.split = "test"
    d = data_dir(ctx.settings, state["session_id"])
    write_examples(d / "retrieved.jsonl", train)
    write_examples(d / "test.jsonl", test)
    record(ctx.store, state["session_id"], 0, train + test)
    summary = (f"Using {', '.join(f.candidate.id for f in chosen)}: {len(train)} training rows; "
               f"evaluation on {eval_source}." if chosen and train else
               "No retrieved data fits; the model will learn from synthetic data only.")
    if notes:
        summary += "\nNotes: " + "; ".join(notes[:6])
    ctx.emit("data", table=table, summary=summary)
    msgs.append({"role": "assistant", "kind": "data", "content": "Datasets:\n" + table + "\n\n" + summary})
    return {"messages": msgs, "data_candidates": [c.model_dump() for c in cands],
            "chosen_data": [f.candidate.model_dump() for f in chosen], "eval_source": eval_source}
