"""`p2m slack --http`: the Events API endpoint, guarded before bolt sees a request.

Slack's payloads are small, so a body is refused by its Content-Length before a
byte of it is read (413), and the signature is checked before the body is parsed
(401). A signed request seen before (the same signature: a replay inside the
five-minute signature window) is answered 200 and dropped; Slack's retries of an
event carry a new signature and the same event_id, which `SlackBot` drops in both
HTTP and Socket Mode. Bad requests get a one-line log and a short status, never
a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from http import HTTPStatus

log = logging.getLogger("p2m.slack")

MAX_BODY = 1024 * 1024  # Slack's event and interaction payloads are a few KB
WINDOW_S = 5 * 60  # Slack rejects signatures older than this, so no replay outlives it
MAX_SEEN = 50_000  # bound on remembered deliveries (a flood cannot grow memory)


class Deliveries:
    """Keys (event ids, signatures) seen within the signature window: first delivery wins."""

    def __init__(self, window_s: float = WINDOW_S, clock=time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first(self, *keys: str) -> bool:
        """True (and remember the keys) unless one of them was seen within the window."""
        keys = tuple(k for k in keys if k)
        now = self.clock()
        with self._lock:
            if len(self._seen) > MAX_SEEN or (self._seen and next(iter(self._seen.values())) < now - self.window_s):
                self._seen = {k: t for k, t in self._seen.items() if t >= now - self.window_s}
            if any(k in self._seen for k in keys):
                return False
            for k in keys:
                self._seen[k] = now
            return True


def _reply(start_response, status: str, text: str = "", headers: list | None = None):
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(headers or [])])
    return [body]


def events_app(bot, signing_secret: str, path: str = "/slack/events", max_body: int = MAX_BODY,
               deliveries: Deliveries | None = None):
    """A WSGI app: size cap, signature, replay check, then bolt's dispatch."""
    from slack_bolt.request import BoltRequest
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(signing_secret)
    seen = deliveries or Deliveries()

    def app(environ, start_response):
        if environ.get("PATH_INFO") != path:
            return _reply(start_response, "404 Not Found", "Not Found")
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, "405 Method Not Allowed", "POST only", [("Allow", "POST")])
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return _reply(start_response, "411 Length Required", "Content-Length required")
        if length < 0 or length > max_body:
            log.warning("p2m slack: refused a %d-byte body (limit %d)", length, max_body)
            return _reply(start_response, "413 Payload Too Large", f"body over {max_body} bytes")
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        try:
            valid = verifier.is_valid_request(body, headers)
        except (ValueError, TypeError):  # e.g. a timestamp that is not a number
            valid = False
        if not valid:
            log.warning("p2m slack: refused a request with a missing, bad or stale signature")
            return _reply(start_response, "401 Unauthorized", "invalid signature")
        if not seen.first("sig:" + headers.get("x-slack-signature", "")):
            log.info("p2m slack: dropped a replayed request (same signature)")
            return _reply(start_response, "200 OK", "", [("X-Slack-No-Retry", "1")])
        try:
            resp = bot.app.dispatch(BoltRequest(body=body.decode("utf-8"), query=environ.get("QUERY_STRING", ""),
                                                headers={k: [v] for k, v in headers.items()}))
        except Exception as e:  # noqa: BLE001 - a malformed signed body: say so, no traceback
            log.warning("p2m slack: could not handle a signed request (%s: %s)", type(e).__name__, str(e)[:200])
            return _reply(start_response, "400 Bad Request", "could not parse the request")
        out = resp.body.encode() if isinstance(resp.body, str) else (resp.body or b"")
        hdrs = [(k, v) for k, vs in (resp.headers or {}).items() for v in vs if k.lower() != "content-length"]
        start_response(f"{resp.status} {HTTPStatus(resp.status).phrase}",
                       hdrs + [("Content-Length", str(len(out)))])
        return [out]

    return app


def http_server(bot, signing_secret: str, host: str = "127.0.0.1", port: int = 3000, **kw):
    """A threaded WSGI server serving `events_app` at /slack/events."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *a):
            log.debug(*a)

    return make_server(host, port, events_app(bot, signing_secret, **kw), server_class=Server,
                       handler_class=Quiet)
