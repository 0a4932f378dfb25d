"""`p2m web` limits: uploads are capped (P2M_WEB_MAX_UPLOAD_MB) before they reach a session."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

from tests.test_web_guard import launched  # noqa: F401
from ui.web import DEFAULT_UPLOAD_MB, upload_limit_mb


def upload(port: int, name: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/gradio_api/upload", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_uploads_over_the_limit_are_refused(launched):  # noqa: F811
    port = launched({"P2M_WEB_MAX_UPLOAD_MB": "1"})
    code, text = upload(port, "big.csv", b"text,label\n" + b"x,a\n" * (2**20 // 4 + 10))
    assert code == 413 and "maximum allowed size of 1048576 bytes" in text, (code, text[:300])
    code, text = upload(port, "small.csv", b"text,label\nI was charged twice,billing\n")
    assert code == 200 and "small.csv" in text


def test_upload_limit_setting():
    assert upload_limit_mb({}) == DEFAULT_UPLOAD_MB == 200
    assert upload_limit_mb({"P2M_WEB_MAX_UPLOAD_MB": "50"}) == 50
    assert upload_limit_mb({"P2M_WEB_MAX_UPLOAD_MB": "lots"}) == 200
