"""A local fake of the Slack Web API: records every call and answers ok.

    api = FakeSlackAPI().start()     # api.url -> "http://127.0.0.1:PORT/api/"
    WebClient(token="xoxb-test", base_url=api.url)
    api.calls_to("chat.postMessage") -> [params, ...]
    api.wait_for(lambda calls: ..., timeout=10)

`fail_next(n)` makes the next n calls answer HTTP 503 (an outage).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

BOT_USER = "UBOT"
BOT_ID = "BBOT"


class FakeSlackAPI:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ts = 1700000000.000100
        self._fail = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n).decode() if n else ""
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype and raw:
                    params = json.loads(raw)
                else:
                    params = dict(parse_qsl(raw))
                    for k in ("blocks", "attachments"):
                        if isinstance(params.get(k), str):
                            try:
                                params[k] = json.loads(params[k])
                            except ValueError:
                                pass
                method = self.path.rsplit("/", 1)[-1]
                status, body = api._answer(method, params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def _answer(self, method: str, params: dict) -> tuple[int, dict]:
        with self._cond:
            if self._fail > 0:
                self._fail -= 1
                self.calls.append(("!" + method, params))
                self._cond.notify_all()
                return 503, {"ok": False, "error": "service_unavailable"}
            self._ts += 1
            ts = f"{self._ts:.6f}"
            self.calls.append((method, params))
            self._cond.notify_all()
        if method == "auth.test":
            return 200, {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T1",
                         "user": "p2m", "team": "test", "url": "https://test.slack.com/"}
        if method in ("chat.postMessage", "chat.update"):
            return 200, {"ok": True, "channel": params.get("channel"), "ts": params.get("ts") or ts,
                         "message": {"text": params.get("text"), "ts": params.get("ts") or ts}}
        return 200, {"ok": True}

    def start(self) -> FakeSlackAPI:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, n: int) -> None:
        with self._lock:
            self._fail = n

    def calls_to(self, method: str) -> list[dict]:
        with self._lock:
            return [p for m, p in self.calls if m == method]

    def wait_for(self, pred, timeout: float = 15.0):
        """Block until pred(calls) is truthy (returns it) or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = pred(list(self.calls))
                if got:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met; calls so far: {[m for m, _ in self.calls]}")
                self._cond.wait(min(left, 0.5))
