"""Pauses in the browser (headless Chromium): click a suggested answer, check labels with radios.

Same setup as tests/test_web_e2e.py (Debian's chromium via playwright, the app in-process
with a fake LLM, skipped without the browser). The clarify question and the label check
are the real nodes'; generation is scripted to write teacher-labelled rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.context import Sizes
from tests.fakes.chat import FakeChatModel
from tests.fakes.serving import launched
from tests.test_web_e2e import ARGS, ARTIFACTS, CHROMIUM, PROPOSAL
from tools.contracts import Example

# a label and also an explanation: the contradiction gap, asked with "only the label" to click
TASK = ("Classify support tickets as billing, technical or other. Give the label plus a short reason "
        "why. 'I was charged twice' -> billing")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} missing: apt-get install -y chromium")


def data_plane(export_dir: Path) -> dict:
    from agent.data_files import SessionData

    entry = {"summary": {"round": 1, "metric": "accuracy", "student": 0.9, "teacher": 0.8, "base": 0.2,
                         "eval_source": "test", "n": 10},
             "result": {"run_id": "r1", "model_path": "/m", "base_model": "b"}}

    def generate(state, runtime):  # held-out synthetic rows, as the real node writes them
        data = SessionData(runtime.context.settings, state["session_id"], runtime.context.store)
        data.save_synthetic(1, [Example(input=f"ticket number {i}", output="billing", source="synthetic:1")
                                for i in range(20)])
        return {"round": 1, "eval_source": "held-out synthetic examples (not a real test split)"}

    def export(state, runtime):
        export_dir.mkdir(parents=True, exist_ok=True)
        return {"export_path": str(export_dir)}

    return {"find_data": lambda s, runtime: {"chosen_data": []},
            "find_model": lambda s, runtime: {"chosen_model": {"id": "m"}},
            "generate": generate,
            "train": lambda s, runtime: {"last_run": {"run_id": "r1", "model_path": "/m"}},
            "evaluate": lambda s, runtime: {"rounds": [entry], "best": entry, "failures": []},
            "export": export}


@pytest.fixture
def server(tmp_path):
    from ui.web import build_app

    demo = build_app(chat_model=FakeChatModel(queue=[PROPOSAL] * 50), sizes=Sizes.tiny(),
                     overrides=data_plane(tmp_path / "export"))
    with launched(demo) as url:
        yield url, demo


def replies(turn) -> list[str]:
    return [m["content"] for m in turn.state["messages"] if m.get("kind") == "reply"]


def test_click_a_suggested_answer_then_check_labels_with_radios(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from agent.data_files import SessionData

    url, demo = server
    backend = demo.p2m_backend
    expect = sync_api.expect
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.locator("#p2m-input textarea").fill(TASK)
            page.locator("#p2m-send").click()
            expect(page.locator("#p2m-chat")).to_contain_text("only the label, or only the other")
            pause = page.locator("#p2m-pause")
            expect(pause.locator("button", has_text="Use defaults")).to_be_visible()
            sid = backend.list_sessions()[0]["id"]
            assert backend.load(sid).interrupt["kind"] == "question"

            # a click on the suggested answer is the reply, as if typed
            pause.locator("button", has_text="only the label").click()
            expect(page.locator("#p2m-chat")).to_contain_text("Approve?")
            turn = backend.load(sid)
            assert replies(turn)[-1] == "only the label" and turn.interrupt["kind"] == "confirm_spec"
            assert turn.state["spec"]["instruction"].endswith("only the label")
            # the spec diff is a diff block in the chat
            expect(page.locator("#p2m-chat code, #p2m-chat pre").first).to_contain_text(
                "+ instruction: only the label")
            # Edit only starts the reply in the input box; nothing is sent
            page.locator("#p2m-pause button", has_text="Edit").click()
            expect(page.locator("#p2m-input textarea")).to_have_value("change ")
            expect(page.locator("#p2m-pause button", has_text="Approve")).to_be_visible()
            assert backend.load(sid).interrupt["kind"] == "confirm_spec" and replies(backend.load(sid))[-1] \
                == "only the label"

            page.locator("#p2m-pause button", has_text="Approve").click()
            expect(page.locator("#p2m-send-labels")).to_be_visible()
            turn = backend.load(sid)
            assert replies(turn)[-1] == "yes" and turn.interrupt["kind"] == "verify_labels"
            items = turn.interrupt["items"]
            assert len(items) >= 2
            row1, row2 = page.locator("#p2m-row-0"), page.locator("#p2m-row-1")
            expect(row1).to_contain_text(items[0]["input"])
            expect(row1.locator("label")).to_have_text(["billing (teacher)", "technical", "other", "wrong"])
            row1.get_by_text("technical", exact=True).click()
            row2.get_by_text("wrong", exact=True).click()
            page.screenshot(path=str(ARTIFACTS / "web_pauses_labels.png"), full_page=True)
            page.locator("#p2m-send-labels").click()
            expect(page.locator("#p2m-session")).to_contain_text("done", timeout=90_000)

            turn = backend.load(sid)
            assert "1: technical; 2 wrong" in replies(turn)
            got = SessionData(backend.settings, sid, None).verified()
            assert [r.output for r in got] == ["technical"] + [it["label"] for it in items[2:]]
            assert got[0].params == {"teacher_label": "billing", "corrected": True}
            expect(page.locator("#p2m-pause")).to_be_hidden()
            chat = page.locator("#p2m-chat").inner_text()
            assert re.search(r"Recorded \d+ user-verified rows \(1 corrected\)", chat)
        finally:
            browser.close()
