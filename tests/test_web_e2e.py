"""End to end in headless Chromium: type a task, see the reply, reload, reopen from the panel.

Needs Debian's `chromium` at /usr/bin/chromium (driven by the `playwright` Python
package, no browser download); skips without it. The app runs in-process on a
free loopback port with a fake LLM. Screenshot: tests/artifacts/web_e2e.png.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from agent.context import Sizes
from tests.fakes.chat import FakeChatModel

CHROMIUM = os.environ.get("P2M_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
TASK = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"
PROPOSAL = '{"kind": "classification", "labels": ["billing", "technical", "other"]}'
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} missing: apt-get install -y chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    from ui.web import build_app

    demo = build_app(chat_model=FakeChatModel(queue=[PROPOSAL] * 50), sizes=Sizes.tiny())
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, share=False, prevent_thread_lock=True,
                quiet=True, ssr_mode=False)
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        demo.close()


def test_chat_reload_and_reopen_in_chromium(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, demo = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(url)
            chat = page.locator("#p2m-chat")
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
        finally:
            browser.close()
