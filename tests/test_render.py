"""Rendering functions of the front ends (pure) and the web backend without a browser."""

from __future__ import annotations

import pytest

from ui import render as R
from ui.web_backend import AuthRequired, check_data_files, web_auth

STATE = {
    "messages": [
        {"role": "user", "content": "Classify tickets", "kind": "description"},
        {"role": "assistant", "content": "Approve?", "kind": "confirm_spec"},
        {"role": "user", "content": "yes", "kind": "reply"},
        {"role": "assistant", "content": "Round 1 results", "kind": "results"},
    ],
    "rounds": [{"summary": {"round": 1, "metric": "accuracy", "n": 40, "student": 0.8125,
                            "teacher": 0.9, "base": None}}],
    "export_path": "/tmp/exports/abc",
}


def test_chat_messages_from_state_with_export():
    msgs = R.chat_messages(STATE)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "assistant"]
    assert msgs[-1]["content"] == "Exported to `/tmp/exports/abc`"


def test_pending_question_is_appended_once_with_note():
    state = {"messages": [{"role": "user", "content": "task"}]}
    msgs = R.chat_messages(state, {"kind": "confirm_spec", "message": "Approve?", "note": "It is 3 labels."})
    # the one-click answers are the page's pause panel now (ui.render_pause), not inline options
    assert msgs[-1] == {"role": "assistant", "content": "It is 3 labels.\n\nApprove?"}
    state["messages"].append({"role": "assistant", "content": "Approve?"})
    assert len(R.chat_messages(state, {"kind": "confirm_spec", "message": "Approve?"})) == 2


def test_results_tables():
    md = R.results_markdown(STATE)
    assert md.splitlines()[0] == "| round | metric | n | student | teacher | base |"
    assert "| 1 | accuracy | 40 | 0.812 | 0.900 | - |" in md
    txt = R.results_text(STATE)
    assert "student" in txt and "0.812" in txt and "(accuracy)" in txt
    assert R.results_markdown({}) == "" and R.results_text({}) == ""


def test_truncate_long_messages():
    text, cut = R.truncate("x" * 50_000)
    assert cut and len(text) == R.MAX_MESSAGE_CHARS and text.endswith(R.TRUNCATION_NOTE)
    assert R.truncate("short") == ("short", False)
    msgs = R.chat_messages({"messages": [{"role": "user", "content": "y" * 45_000}]})
    assert len(msgs[0]["content"]) == R.MAX_MESSAGE_CHARS


def test_events_become_collapsible_steps_and_progress_merges():
    step = R.event_message("node", {"node": "intake"})
    assert step["metadata"]["title"].endswith("Read the task")
    t1 = R.event_message("train", {"step": 1, "max_steps": 10, "loss": 2.0})
    t2 = R.event_message("train", {"step": 2, "max_steps": 10, "loss": 1.5})
    merged = R.merge_progress([step, t1, t2])
    assert len(merged) == 2 and merged[-1]["content"].endswith("20%` step 2/10, loss 1.500")
    assert R.event_message("spec", {"spec": {}}) is None


def test_session_choices_and_status():
    rows = [{"id": "abc123", "status": "waiting", "title": "t" * 100}]
    (label, value), = R.session_choices(rows)
    assert value == "abc123" and label.startswith("abc123 · waiting · ") and label.endswith("...")
    assert R.status_line({}, {"kind": "confirm_spec"}, False) == "waiting for you (confirm_spec)"
    assert R.status_line({"error": "x"}, None, True) == "stopped: x"
    assert "send 'continue' to resume" in R.status_line({}, None, False)


def test_auth_required_off_loopback():
    assert web_auth("127.0.0.1", {}) is None
    assert web_auth("localhost", {}) is None
    with pytest.raises(AuthRequired, match="P2M_WEB_USER"):
        web_auth("0.0.0.0", {})
    assert web_auth("0.0.0.0", {"P2M_WEB_USER": "u", "P2M_WEB_PASSWORD": "p"}) == ("u", "p")


def test_wrong_upload_type_is_refused(tmp_path):
    assert check_data_files([str(tmp_path / "a.csv"), str(tmp_path / "b.jsonl")])
    with pytest.raises(ValueError, match="Unsupported file type: x.exe"):
        check_data_files([str(tmp_path / "x.exe")])


def test_reply_options_for_picks_and_progress_bars():
    assert R.reply_options({"kind": "question", "message": "Which labels?", "gap": "labels_unknown"}) == []
    assert R.reply_options({"kind": "question", "message": "Examples?", "gap": "no_examples"}) == [
        ("Use defaults", "default")]
    assert R.reply_options({"kind": "pick_data", "options": ["ag_news", "trec"]}) == [
        ("1: ag_news", "1"), ("2: trec", "2"), ("None (synthetic only)", "none")]
    msg = "Base models:\n1. smollm2-135m (llama, 135M params)\n2. minilm (bert, 22M params)\n\nReply"
    assert R.reply_options({"kind": "pick_model", "message": msg}) == [
        ("1: smollm2-135m", "1"), ("2: minilm", "2")]
    assert R.progress_bar(5, 20, width=4) == "`[#...]  25%`"
    assert R.progress_bar(1, None) == ""
    gen = R.event_message("generate", {"accepted": 3, "target": 6, "requests": 4})
    assert "50%" in gen["content"] and "3/6 accepted" in gen["content"]


def test_step_events_and_chart_series():
    rep = R.event_message("data_report", {"report": {"accepted": 5, "requested": 6, "duplicate_rate": 0.5}})
    assert rep["content"] == "5 accepted of 6 requested; duplicates 50%"
    assert R.event_message("decision", {"action": "export", "reason": "target met"})["metadata"]["title"] \
        == "Decision: export"
    res = R.event_message("results", {"summary": {"student": 0.9, "teacher": 0.8, "base": None}})
    assert res["content"] == "student 0.900, teacher 0.800, base -"
    assert R.results_series(STATE) == [{"round": 1, "model": "student", "score": 0.8125},
                                       {"round": 1, "model": "teacher", "score": 0.9}]


def test_terminal_lines_for_the_cli():
    assert R.terminal_line("node", {"node": "train"}) == "[dim]step done:[/dim] train"
    assert R.terminal_line("train", {"event": "eval", "step": 3, "max_steps": 9, "loss": 0.5, "eta_s": 12}) == \
        "[dim]  training step 3/9, loss 0.500, eta 12s[/dim]"
    assert R.terminal_line("train", {"event": "start"}) is None
    # generation progress (the generator's payload has accepted/target/requests, never "done")
    assert R.terminal_line("generate", {"accepted": 4, "target": 6, "requests": 7, "errors": 1}) == \
        "[dim]  generated 4/6 accepted (7 requests, 1 failed)[/dim]"
    assert R.terminal_line("data", {"summary": "x"}) is None


def test_slack_rendering_lives_with_the_others():
    from ui import slack_bot as S

    assert S.reply_payload is R.reply_payload and S.APPROVE == R.APPROVE == "p2m_approve"
    m = R.event_message("train", {"step": 2, "max_steps": 4})
    assert R.slack_status(m).startswith("Working... Training: `[")
