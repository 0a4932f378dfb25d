"""intake: parse the description into a draft TaskSpec (text first, model second)."""

from __future__ import annotations

import time

from langgraph.runtime import Runtime

from agent import prompts
from agent.context import AgentContext
from agent.state import AgentState, say
from tools.llm import LLMError
from tools.spec_edit import LANGUAGES, check_spec
from tools.spec_parse import merge_parse, parse_description, spans_or_text


def intake(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    ctx = runtime.context
    text = state.get("description", "")
    try:
        draft = parse_description(text)
    except ValueError as e:
        return {**say(str(e), "error"), "error": "empty_description"}
    notes = [f"read from the text: kind {draft.kind}, {len(draft.labels)} labels, "
             f"{len(draft.demonstrations)} examples"]
    try:
        proposal = ctx.client.structured(prompts.intake_messages(text), prompts.SpecProposal,
                                         purpose="intake", max_tokens=300)
        spec, merge_notes = merge_parse(draft, proposal.model_dump(), text)
        notes += [f"model {ctx.client.model_name} proposed kind {proposal.kind}"] + merge_notes
        lang = LANGUAGES.get(proposal.language.strip().lower())
        if lang and lang != "en":  # reading a text's language is what even small models do well
            spec.constraints.language = lang
            notes.append(f"inputs in {proposal.language.strip()} (the model's reading)")
    except LLMError as e:
        spec = draft
        notes.append(f"the model's parse failed, kept the text reading ({e})")
    spec, span_notes = spans_or_text(spec)
    notes += span_notes
    spec, refused = check_spec(spec, text)
    notes += refused
    if state.get("budget"):  # limits given on the command line or in the UI
        spec.budget = spec.budget.model_copy(update=state["budget"])
    if not text.isascii() and sum(not c.isascii() for c in text) > len(text) / 4:
        notes.append("the description is not in English; the student and metrics assume "
                     "the description's language")
        if spec.constraints.language == "en":
            spec.constraints.language = "auto"
    ctx.store.upsert_session(state["session_id"], text[:80], "intake")
    ctx.store.save_spec(state["session_id"], spec.model_dump())
    ctx.emit("spec", spec=spec.model_dump())
    return {"spec": spec.model_dump(), "parse_notes": notes, "questions_asked": 0,
            "approved": False, "round": 0, "started_at": state.get("started_at") or time.time(),
            "spent": {"llm_calls": 0, "tokens": 0, "minutes": 0.0}, "error": ""}
