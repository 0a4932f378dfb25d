"""Rendering for every front end: session state and progress events -> what each one shows.

One module, so a new kind of message or event is rendered in one place:
- shared: results tables, reply options, progress bars, status lines, errors;
- the web chat: `chat_messages`, `event_message` (collapsible steps), `results_markdown`;
- Slack: `reply_payload` (Block Kit), `clean_text`, `results_text` (code blocks);
- the terminal: `terminal_line` (rich markup for `p2m run` / `p2m chat`).

No gradio, slack or rich import here: these are pure functions, cheap to unit test.
"""

from __future__ import annotations

import re

from ui.render_pause import PauseView, pause_view

MAX_MESSAGE_CHARS = 40_000
TRUNCATION_NOTE = "\n\n[truncated: the message was longer than 40,000 characters]"

STEP_TITLES = {
    "intake": "Read the task", "clarify": "Checked for open questions",
    "confirm_spec": "Spec confirmation", "find_data": "Searched for datasets",
    "pick_data": "Picked datasets", "find_model": "Searched for base models",
    "pick_model": "Picked a base model", "generate": "Generated synthetic data",
    "train": "Trained the student", "evaluate": "Evaluated student vs teacher vs base",
    "decide": "Decided the next step", "export": "Exported the model",
}


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> tuple[str, bool]:
    """(text cut to `limit` characters with a note, whether it was cut)."""
    text = text or ""
    if len(text) <= limit:
        return text, False
    return text[: limit - len(TRUNCATION_NOTE)] + TRUNCATION_NOTE, True


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def results_rows(state: dict) -> list[dict]:
    """One row per finished round: round, metric, n, student, teacher, base."""
    rows = []
    for r in state.get("rounds") or []:
        s = r.get("summary") or {}
        rows.append({"round": s.get("round"), "metric": s.get("metric"), "n": s.get("n"),
                     "student": s.get("student"), "teacher": s.get("teacher"), "base": s.get("base")})
    return rows


def results_markdown(state: dict) -> str:
    """Student/teacher/base per round as a markdown table ('' before any round)."""
    rows = results_rows(state)
    if not rows:
        return ""
    cols = ["round", "metric", "n", "student", "teacher", "base"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def results_text(state: dict) -> str:
    """Compact fixed-width table (for Slack code blocks)."""
    rows = results_rows(state)
    if not rows:
        return ""
    metric = rows[-1].get("metric") or "score"
    out = [f"{'round':<6}{'student':>9}{'teacher':>9}{'base':>9}   ({metric})"]
    for r in rows:
        out.append(f"{_fmt(r['round']):<6}{_fmt(r['student']):>9}{_fmt(r['teacher']):>9}{_fmt(r['base']):>9}")
    return "\n".join(out)


def progress_bar(done, total, width: int = 20) -> str:
    """A text progress bar, e.g. `[#####...............]  25%` ('' without a total)."""
    if not isinstance(done, (int, float)) or not isinstance(total, (int, float)) or total <= 0:
        return ""
    frac = max(0.0, min(1.0, done / total))
    n = round(frac * width)
    return f"`[{'#' * n}{'.' * (width - n)}] {frac:4.0%}`"


_MENTION = re.compile(r"<@[A-Z0-9]+>")


def reply_options(interrupt: dict | None) -> list[tuple[str, str]]:
    """One-click answers for a pause: (label, reply text), from its view (ui.render_pause)."""
    view = pause_view(interrupt)
    return [(c.label, c.reply) for c in view.choices if c.send] if view else []


def _done(title: str, body: str) -> dict:
    return {"role": "assistant", "content": body or title, "metadata": {"title": title, "status": "done"}}


def results_series(state: dict) -> list[dict]:
    """Long-format rows (round, model, score) for a metric-per-round chart."""
    out = []
    for r in results_rows(state):
        for who in ("student", "teacher", "base"):
            if isinstance(r.get(who), (int, float)):
                out.append({"round": r["round"], "model": who, "score": float(r[who])})
    return out


def event_message(kind: str, payload: dict) -> dict | None:
    """A progress event as a collapsible tool-activity chat message (None to skip)."""
    if kind == "node":
        node = payload.get("node", "?")
        return {"role": "assistant", "content": f"step `{node}` done",
                "metadata": {"title": f"{STEP_TITLES.get(node, node)}", "status": "done"}}
    if kind == "generate" and payload.get("accepted") is not None:
        acc, target = payload.get("accepted"), payload.get("target")
        return {"role": "assistant",
                "content": f"{progress_bar(acc, target)} {acc}/{target or '?'} accepted "
                           f"({payload.get('requests', '?')} requests)",
                "metadata": {"title": "Generating data", "status": "pending"}}
    if kind == "train" and payload.get("step"):
        loss = payload.get("loss")
        loss_s = f", loss {loss:.3f}" if isinstance(loss, (int, float)) else ""
        eta = f", eta {payload['eta_s']:.0f}s" if isinstance(payload.get("eta_s"), (int, float)) else ""
        return {"role": "assistant",
                "content": f"{progress_bar(payload['step'], payload.get('max_steps'))} "
                           f"step {payload['step']}/{payload.get('max_steps', '?')}{loss_s}{eta}",
                "metadata": {"title": "Training", "status": "pending"}}
    if kind == "data_report":
        rep = payload.get("report") or {}
        body = (f"{rep.get('accepted', '?')} accepted of {rep.get('requested', '?')} requested; "
                f"duplicates {rep.get('duplicate_rate', 0):.0%}"
                if isinstance(rep.get("duplicate_rate", 0), (int, float)) else str(rep))
        return _done("Data-quality report", body)
    if kind == "decision":
        return _done(f"Decision: {payload.get('action', '?')}", str(payload.get("reason", "")))
    if kind == "export":
        return _done("Exported", f"`{payload.get('path', '')}`")
    if kind == "data":
        return _done("Data chosen", str(payload.get("summary", "")))
    if kind == "model":
        return _done("Base model", str(payload.get("id", "")))
    if kind == "results":
        s = payload.get("summary") or {}
        return _done("Results", ", ".join(f"{k} {_fmt(s.get(k))}" for k in ("student", "teacher", "base")))
    return None


def merge_progress(events: list[dict]) -> list[dict]:
    """Keep every step message but only the latest message per progress title."""
    out: list[dict] = []
    for m in events:
        title = (m.get("metadata") or {}).get("title", "")
        if out and (m.get("metadata") or {}).get("status") == "pending" \
                and (out[-1].get("metadata") or {}).get("title") == title:
            out[-1] = m
        else:
            out.append(m)
    return out


def chat_messages(state: dict, interrupt: dict | None = None) -> list[dict]:
    """The conversation for a chat widget: [{"role", "content"}] from the checkpointed state.

    The pending question (the interrupt) is not in `messages` until answered, so
    it is appended at the end, as its view's markdown (a spec diff as a diff block; the
    choices and verify rows are the page's buttons and radios); results and export get
    their tables/paths.
    """
    out: list[dict] = []
    for m in state.get("messages") or []:
        role = "user" if m.get("role") == "user" else "assistant"
        content, _ = truncate(str(m.get("content", "")))
        out.append({"role": role, "content": content})
    if interrupt:
        view = pause_view(interrupt)
        # ask_user puts the question into messages only once answered; don't repeat it
        if out and out[-1]["role"] == "assistant" and out[-1]["content"] in (
                truncate(view.text)[0], truncate(view.body)[0]):
            out.pop()
        out.append({"role": "assistant", "content": truncate(view.body)[0]})
    if state.get("export_path") and not any(state["export_path"] in m["content"] for m in out):
        out.append({"role": "assistant", "content": f"Exported to `{state['export_path']}`"})
    if state.get("error") and not interrupt and not any("error" in m["content"].lower() for m in out[-1:]):
        out.append({"role": "assistant", "content": f"Stopped: {state['error']}"})
    return out


def session_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """Store rows -> dropdown (label, value) pairs."""
    out = []
    for r in rows:
        title = (r.get("title") or "").strip() or "(untitled)"
        if len(title) > 60:
            title = title[:57] + "..."
        out.append((f"{r['id']} · {r.get('status', '?')} · {title}", r["id"]))
    return out


def failure_text(exc: BaseException, retry: str = "send a message to retry") -> str:
    """What a front end says when a turn raised: the endpoint's own message, or error + retry hint."""
    from tools.llm.probe import EndpointUnreachable

    if isinstance(exc, EndpointUnreachable):
        return f"Stopped before any work: {exc}"
    return f"Error: {exc}. The session is saved; {retry}."


def status_line(turn_state: dict, interrupt: dict | None, done: bool) -> str:
    if interrupt:
        return f"waiting for you ({interrupt.get('kind', 'question')})"
    if done:
        return "done" if not turn_state.get("error") else f"stopped: {turn_state['error']}"
    return "mid-run (running elsewhere, or interrupted: send 'continue' to resume)"


# -- Slack ------------------------------------------------------------------------------

APPROVE = "p2m_approve"  # Slack action ids of the buttons below
PICK = "p2m_pick_"  # + index; value "session|reply"
EDIT = "p2m_edit"  # confirm_spec's Edit: a hint to type the change in the thread
VERIFY = "p2m_verify_"  # + row number: the label select of a verify row
SEND_LABELS = "p2m_send_labels"  # value "session|": the selects as the verify reply
SECTION_LIMIT = 2900  # Block Kit section text is capped at 3000 characters


def clean_text(text: str) -> tuple[str, bool]:
    """A Slack message as the user's text: mentions removed, trimmed, cut to 40,000 characters."""
    return truncate(_MENTION.sub("", text or "").strip())


def reply_payload(turn, session_id: str) -> tuple[str, list[dict]]:
    """(fallback text, Block Kit blocks) for what the graph ended this turn with."""
    text, _ = truncate(turn.message or ("Done." if turn.done else "Working..."))
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}]
    table = results_text(turn.state)
    if table:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{table}```"[:SECTION_LIMIT]}})
    if turn.state.get("export_path"):
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"Exported to `{turn.state['export_path']}`"}]})
    view = pause_view(turn.interrupt)
    if view:
        body = view.body.replace("```diff\n", "```\n")  # Slack's code blocks take no language
        blocks[0]["text"]["text"] = body[:SECTION_LIMIT]
        blocks += pause_blocks(view, session_id)
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"session `{session_id}` · reply in this thread · "
                                   f"`p2m chat --session {session_id}`"}]})
    return text, blocks


def _plain(text: str, limit: int = 75) -> dict:
    """A plain_text object (Slack caps button and option texts at 75 characters)."""
    return {"type": "plain_text", "text": text if len(text) <= limit else text[:limit - 3] + "..."}


def _option(text: str, value: str) -> dict:
    return {"text": _plain(text), "value": value[:150]}


def pause_blocks(view: PauseView, session_id: str) -> list[dict]:
    """A pause as Block Kit: a section with a label select per verify row, then the buttons."""
    blocks: list[dict] = []
    for r in view.rows[:40]:  # 50 blocks per message
        opts = [_option(shown, value) for shown, value in r.options()]
        opts = opts[:99] + ([opts[-1]] if len(opts) > 99 else [])  # 100 options; keep 'wrong'
        blocks.append({"type": "section", "block_id": f"p2m_row_{r.i}",
                       "text": {"type": "mrkdwn", "text": f"*{r.i}.* {' '.join(r.input.split())[:500]}"},
                       "accessory": {"type": "static_select", "action_id": f"{VERIFY}{r.i}",
                                     "options": opts, "initial_option": opts[0]}})
    buttons = []
    if view.rows:
        buttons.append({"type": "button", "action_id": SEND_LABELS, "style": "primary",
                        "value": f"{session_id}|", "text": _plain("Send these labels")})
    for i, c in enumerate(view.choices[:20]):
        if view.kind == "confirm_spec" and c.reply == "yes":  # the one button older messages carry
            buttons.append({"type": "button", "action_id": APPROVE, "style": "primary",
                            "value": session_id, "text": _plain("Approve spec")})
        elif not c.send:
            buttons.append({"type": "button", "action_id": EDIT, "value": f"{session_id}|",
                            "text": _plain(c.label)})
        else:
            buttons.append({"type": "button", "action_id": f"{PICK}{i}", "value": f"{session_id}|{c.reply}",
                            "text": _plain(c.label)})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"p2m_pause_{view.kind}", "elements": buttons})
    return blocks


def slack_picks(body: dict) -> dict[int, str]:
    """The verify selects of a block_actions payload (its `state.values`): row number -> label."""
    picks: dict[int, str] = {}
    for actions in ((body.get("state") or {}).get("values") or {}).values():
        for action_id, value in (actions or {}).items():
            chosen = (value or {}).get("selected_option") or {}
            if action_id.startswith(VERIFY) and action_id[len(VERIFY):].isdigit() and chosen.get("value"):
                picks[int(action_id[len(VERIFY):])] = str(chosen["value"])
    return picks


def slack_status(payload_message: dict) -> str:
    """The one-line status a Slack thread's 'Working...' message is edited to."""
    return f"Working... {payload_message['metadata']['title']}: {payload_message['content']}"


# -- the terminal -------------------------------------------------------------------------

_TRAIN_LINES = ("log", "eval", "progress", None)  # training events worth a line (not every step)


def terminal_line(kind: str, p: dict) -> str | None:
    """A progress event as one line of rich markup for the terminal (None: nothing to print)."""
    if kind == "node":
        return f"[dim]step done:[/dim] {p.get('node')}"
    if kind == "train" and p.get("event") in _TRAIN_LINES and p.get("step"):
        eta = f", eta {p['eta_s']:.0f}s" if p.get("eta_s") else ""
        loss = f", loss {p['loss']:.3f}" if isinstance(p.get("loss"), (int, float)) else ""
        return f"[dim]  training step {p['step']}/{p.get('max_steps', '?')}{loss}{eta}[/dim]"
    if kind == "generate" and p.get("accepted") is not None:
        errors = f", {p['errors']} failed" if p.get("errors") else ""
        return (f"[dim]  generated {p['accepted']}/{p.get('target') or '?'} accepted "
                f"({p.get('requests', '?')} requests{errors})[/dim]")
    return None
