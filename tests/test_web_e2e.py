"""End to end in headless Chromium: type a task, see the reply, reload, reopen from the panel.

Needs Debian's `chromium` at /usr/bin/chromium (driven by the `playwright` Python
package, no browser download); skips without it. The app runs in-process on a
free loopback port with a fake LLM. Screenshot: tests/artifacts/web_e2e.png.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from agent.context import Sizes
from tests.fakes.chat import FakeChatModel
from tests.fakes.serving import launched

CHROMIUM = os.environ.get("P2M_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
TASK = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"
PROPOSAL = '{"kind": "classification", "labels": ["billing", "technical", "other"]}'
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} missing: apt-get install -y chromium")


def scripted_data_plane(export_dir: Path, gate: threading.Event) -> dict:
    """Nodes after the spec approval, scripted (no retrieval, generation or training)."""
    entry = {"summary": {"round": 1, "metric": "accuracy", "student": 0.9, "teacher": 0.8, "base": 0.2,
                         "eval_source": "test", "n": 10},
             "result": {"run_id": "r1", "model_path": "/m", "base_model": "b"}}

    def export(state, runtime):
        export_dir.mkdir(parents=True, exist_ok=True)
        (export_dir / "README.md").write_text("model card")
        return {"export_path": str(export_dir)}

    def train(state, runtime):
        runtime.context.emit("train", step=1, max_steps=4, loss=1.0)
        assert gate.wait(60), "the test never opened the gate"
        return {"last_run": {"run_id": "r1", "model_path": "/m"}}

    return {
        "find_data": lambda s, runtime: {"chosen_data": [{"id": "d"}]},
        "find_model": lambda s, runtime: {"chosen_model": {"id": "m"}},
        "generate": lambda s, runtime: {"round": s.get("round", 0) + 1},
        "train": train,
        "evaluate": lambda s, runtime: {"rounds": [entry], "best": entry, "failures": []},
        "export": export,
    }


@pytest.fixture
def server(tmp_path):
    from ui.web import build_app

    gate = threading.Event()  # "training" waits for it: the test reloads mid-run first
    demo = build_app(chat_model=FakeChatModel(queue=[PROPOSAL] * 50), sizes=Sizes.tiny(),
                     overrides=scripted_data_plane(tmp_path / "export", gate))
    demo.p2m_gate = gate
    with launched(demo) as url:
        yield url, demo


def test_chat_reload_and_reopen_in_chromium(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, demo = server
    try:
        _drive(sync_api, url, demo, tmp_path)
    finally:
        demo.p2m_gate.set()


def _drive(sync_api, url, demo, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(url)
            chat = page.locator("#p2m-chat")
            own = tmp_path / "tickets.csv"
            own.write_text("text,label\nI was charged twice,billing\nApp crashes,technical\n")
            page.locator("#p2m-upload input[type=file]").set_input_files(str(own))
            sync_api.expect(page.locator("#p2m-upload")).to_contain_text(re.compile(r"tickets\s*\.csv"))
            page.locator("#p2m-input textarea").fill(TASK)
            page.locator("#p2m-send").click()
            # the assistant's spec confirmation appears
            sync_api.expect(chat).to_contain_text("Approve?", timeout=60_000)
            sync_api.expect(chat).to_contain_text("billing, technical, other")
            sync_api.expect(page.locator("#p2m-session")).to_contain_text("waiting for you")
            sid = demo.p2m_backend.list_sessions()[0]["id"]
            deadline = time.monotonic() + 15
            while f"session={sid}" not in page.url and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert f"session={sid}" in page.url
            page.screenshot(path=str(ARTIFACTS / "web_e2e.png"), full_page=True)

            # reload: same conversation, from the checkpointer
            page.reload()
            chat = page.locator("#p2m-chat")
            sync_api.expect(chat).to_contain_text("Approve?")
            sync_api.expect(chat).to_contain_text("I was charged twice")

            # another browser profile (no localStorage): the ?session= link alone restores it
            other = browser.new_context()
            try:
                p3 = other.new_page()
                p3.goto(f"{url}?session={sid}")
                sync_api.expect(p3.locator("#p2m-chat")).to_contain_text("Approve?", timeout=30_000)
            finally:
                other.close()

            # a fresh page without the query: open the session from the panel
            page2 = browser.new_page()
            page2.set_default_timeout(30_000)
            page2.goto(url)
            page2.locator("#p2m-new").click()
            sync_api.expect(page2.locator("#p2m-session")).to_contain_text("New session")
            page2.locator("#p2m-refresh").click()
            page2.locator("#p2m-sessions input").click()
            page2.get_by_role("option", name=sid, exact=False).first.click()
            page2.locator("#p2m-open").click()
            sync_api.expect(page2.locator("#p2m-chat")).to_contain_text("Approve?")
            sync_api.expect(page2.locator("#p2m-session")).to_contain_text(sid)
            turn = demo.p2m_backend.load(sid)
            assert turn.state["data_files"][0].endswith("tickets.csv")

            # approve in the reopened session (the Approve button under the chat): the (scripted) loop runs to the results table
            page2.locator("#p2m-pause button", has_text="Approve").click()  # one-click answer
            # mid-run (training waits on the gate): the clicking page streams the steps
            sync_api.expect(page2.locator("#p2m-chat")).to_contain_text("step 1/4")
            # reload mid-run: the new page follows the run live, then shows the end
            page2.reload()
            sync_api.expect(page2.locator("#p2m-session")).to_contain_text("following live")
            sync_api.expect(page2.locator("#p2m-chat")).to_contain_text("step 1/4")
            demo.p2m_gate.set()
            sync_api.expect(page2.locator("#p2m-session")).to_contain_text("done", timeout=60_000)
            results = page2.locator("#p2m-results")
            sync_api.expect(results).to_contain_text("student")
            sync_api.expect(results).to_contain_text("0.900")
            link = page2.locator("#p2m-export a[href*='export.zip']")
            sync_api.expect(link).to_have_count(1)
            sync_api.expect(page2.locator("#p2m-chart canvas, #p2m-chart svg").first).to_be_visible()
            page2.screenshot(path=str(ARTIFACTS / "web_e2e_results.png"), full_page=True)
        finally:
            browser.close()
