"""Serve a built web app or Slack bot on a free loopback port for one test, and stop it after."""

from __future__ import annotations

import contextlib
import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched(demo):
    """`demo` (a gradio Blocks) queued and launched; yields its URL."""
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, share=False, prevent_thread_lock=True,
                quiet=True, ssr_mode=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@contextlib.contextmanager
def slack_served(api, bot):
    """`bot` behind its HTTP endpoint (a thread), with the fake Slack API `api` started; yields the
    events URL. Stops the bot's work, the server and the API after."""
    from ui import slack_bot as S

    server = S.http_server(bot, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        bot.wait_idle(30)
        server.shutdown()
        server.server_close()
        api.stop()
