"""A local stand-in for the Hugging Face Hub API routes `p2m hub refresh` calls.

huggingface_hub 2.x pages `/api/datasets` and `/api/models` with a GitHub-style
`Link: <url>; rel="next"` header (utils/_pagination.py). This server serves
canned records in pages of `page_size` and can misbehave on demand:

    with FakeHub(datasets=[...], models=[...]) as hub:
        hub.mode = "ok" | "401" | "404" | "429" | "500" | "hang" | "fail_page2"
        HfApi(endpoint=hub.url).list_datasets()

"hang" holds the response until the test ends (the client's timeout fires);
"fail_page2" serves page 1, then 500 (a Hub failure mid-listing).

Uploads (`HfApi.create_repo` + `upload_folder`, as `push_to_hub` does) go through
the same server: repo creation, README metadata validation, preupload (every
file answered as a regular, non-LFS upload) and the ndjson commit. The files a
commit carried land in `hub.uploads[repo_id]` (path -> bytes); the create
payloads in `hub.created`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeHub:
    """Threaded HTTP server with configurable failure modes; use as a context manager."""

    def __init__(self, datasets: list[dict] | None = None, models: list[dict] | None = None,
                 page_size: int = 2):
        self.datasets, self.models = datasets or [], models or []
        self.page_size, self.mode = page_size, "ok"
        self.requests: list[str] = []
        self.auth_headers: list[str | None] = []
        self.uploads: dict[str, dict[str, bytes]] = {}
        self.created: list[dict] = []
        self._release = threading.Event()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):  # noqa: N802 (http.server API)
                hub.requests.append(self.path)
                hub.auth_headers.append(self.headers.get("authorization"))
                url = urlparse(self.path)
                q = parse_qs(url.query)
                cursor = int(q.get("cursor", ["0"])[0])
                if hub.mode == "hang":
                    hub._release.wait(20)  # released at exit
                    return
                err = {"401": 401, "404": 404, "429": 429, "500": 500}.get(hub.mode)
                if hub.mode == "fail_page2" and cursor > 0:
                    err = 500
                if url.path not in ("/api/datasets", "/api/models"):
                    err = 404
                if err:
                    return self._send(err, {"error": f"fake hub error {err}"})
                items = hub.datasets if url.path == "/api/datasets" else hub.models
                if url.path == "/api/models" and "pipeline_tag" in q:
                    items = [m for m in items if m.get("pipeline_tag") == q["pipeline_tag"][0]]
                page = items[cursor:cursor + hub.page_size]
                headers = {}
                if cursor + hub.page_size < len(items):
                    keep = {k: v for k, v in q.items() if k != "cursor"}
                    qs = "&".join(f"{k}={v[0]}" for k, v in keep.items())
                    nxt = f"{hub.url}{url.path}?{qs}&cursor={cursor + hub.page_size}"
                    headers["Link"] = f'<{nxt}>; rel="next"'
                self._send(200, page, headers)

            def do_POST(self):  # noqa: N802 (http.server API)
                hub.requests.append(f"POST {self.path}")
                hub.auth_headers.append(self.headers.get("authorization"))
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                path = urlparse(self.path).path
                err = {"401": 401, "429": 429, "500": 500}.get(hub.mode)
                if err:
                    return self._send(err, {"error": f"fake hub error {err}"})
                if path == "/api/repos/create":
                    req = json.loads(body)
                    hub.created.append(req)
                    repo = f"{req.get('organization')}/{req['name']}"
                    hub.uploads.setdefault(repo, {})
                    return self._send(200, {"url": f"{hub.url}/{repo}", "name": repo})
                if path == "/api/validate-yaml":
                    return self._send(200, {"errors": [], "warnings": []})
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/([^/]+)", path)
                if not m:
                    return self._send(404, {"error": f"no route {path}"})
                repo, action = m.group(1), m.group(2)
                if repo not in hub.uploads:
                    return self._send(404, {"error": f"repository {repo} not found"})
                if action == "preupload":
                    files = json.loads(body).get("files", [])
                    return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                       "shouldIgnore": False} for f in files]})
                for line in body.splitlines():
                    item = json.loads(line)
                    if item.get("key") == "file":
                        v = item["value"]
                        hub.uploads[repo][v["path"]] = base64.b64decode(v["content"])
                return self._send(200, {"commitUrl": f"{hub.url}/{repo}/commit/{'0' * 40}",
                                        "commitOid": "0" * 40, "pullRequestUrl": None})

            def _send(self, status: int, body, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
