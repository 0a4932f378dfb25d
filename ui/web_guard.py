"""ASGI guards in front of the Gradio app of `p2m web`.

- Without a login the page is open to whatever can reach the socket, so on
  loopback that must be this machine only: a request whose Host header is not
  127.0.0.1 / localhost / [::1] on the bound port is refused. A DNS-rebinding
  page (a name of the attacker's that resolves to 127.0.0.1) sends its own name
  as Host, so it cannot read or drive a session.
- With a login, wrong passwords are rate-limited per client address: after
  `max_failures` within `window_s`, /login answers 429 (even for the right
  password) until the window has passed.
"""

from __future__ import annotations

import threading
import time

LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


def split_host(value: str) -> tuple[str, int | None]:
    """'localhost:7860' -> ('localhost', 7860); '[::1]:80' -> ('[::1]', 80); bad port -> -1."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name, port = name + "]", rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = value.partition(":")
    if not port:
        return name, None
    return name, int(port) if port.isdigit() else -1


class LoginLimiter:
    """Failed logins per client address in a sliding window."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0, clock=time.monotonic):
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._fails.get(client, []) if t > now - self.window_s]
            self._fails[client] = recent
            if len(recent) < self.max_failures:
                return 0.0
            return recent[-self.max_failures] + self.window_s - now

    def failed(self, client: str) -> None:
        with self._lock:
            self._fails.setdefault(client, []).append(self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._fails.pop(client, None)


async def _refuse(send, status: int, text: str, headers: list | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class WebGuard:
    """The ASGI middleware: `local_only` checks Host, `limiter` guards /login."""

    def __init__(self, app, *, local_only: bool = False, limiter: LoginLimiter | None = None):
        self.app, self.local_only, self.limiter = app, local_only, limiter

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if self.local_only and not self._local(scope):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _refuse(send, 403, "p2m web without a login answers only to 127.0.0.1, "
                                            "localhost or [::1] on its own port. To serve it under "
                                            "another name, set P2M_WEB_USER and P2M_WEB_PASSWORD.")
        if (self.limiter is not None and scope["type"] == "http" and scope.get("method") == "POST"
                and scope.get("path", "").rstrip("/").endswith("/login")):
            return await self._login(scope, receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    def _local(scope) -> bool:
        host = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"host"), "")
        name, port = split_host(host)
        bound = (scope.get("server") or (None, None))[1]
        return name in LOCAL_NAMES and (port == bound or (port is None and bound == 80))

    async def _login(self, scope, receive, send):
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.limiter.wait_s(client)
        if wait > 0:
            return await _refuse(send, 429, f"Too many wrong passwords: try again in {wait:.0f} s.",
                                 [(b"retry-after", str(int(wait) + 1).encode())])

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.limiter.succeeded(client)
                elif 400 <= message["status"] < 500:
                    self.limiter.failed(client)
            await send(message)

        return await self.app(scope, receive, watch)


def guard_middleware(*, local_only: bool, limiter: LoginLimiter | None):
    """The starlette Middleware entry for gradio's `launch(app_kwargs={"middleware": [...]})`."""
    from starlette.middleware import Middleware

    return Middleware(WebGuard, local_only=local_only, limiter=limiter)
