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


def test_export_download_with_a_home_outside_cwd_and_temp_dir(monkeypatch):
    """Gradio serves files from the cwd and the temp dir only; the default P2M_HOME is neither."""
    import shutil
    import socket
    import tempfile
    from pathlib import Path

    from gradio_client import Client

    from agent.context import Sizes
    from tests.fakes.chat import FakeChatModel
    from tools.settings import Settings
    from ui.web import WebBackend, launch

    home = Path("/var/tmp") / f"p2m-test-{uuid.uuid4().hex[:8]}"
    assert not home.is_relative_to(Path.cwd()) and not home.is_relative_to(tempfile.gettempdir())
    settings = Settings(home=home)
    entry = {"summary": {"round": 1, "metric": "accuracy", "student": 0.9, "teacher": 0.8, "base": 0.2,
                         "n": 5}, "result": {}}

    def export(state, runtime):
        folder = home / "exports" / "p2m-x"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "README.md").write_text("model card")
        return {"export_path": str(folder)}

    overrides = {"find_data": lambda s, runtime: {"chosen_data": []},
                 "find_model": lambda s, runtime: {"chosen_model": {"id": "m"}},
                 "generate": lambda s, runtime: {"round": s.get("round", 0) + 1},
                 "train": lambda s, runtime: {"last_run": {}},
                 "evaluate": lambda s, runtime: {"rounds": [entry], "best": entry, "failures": []},
                 "export": export}
    proposal = '{"kind": "classification", "labels": ["billing", "other"]}'
    be = WebBackend(settings, chat_model=FakeChatModel(queue=[proposal] * 20), sizes=Sizes.tiny(),
                    overrides=overrides)
    sid = be.turn(None, "Classify tickets as billing or other. 'charged twice' -> billing", [],
                  lambda k, p: None).session_id
    assert be.turn(sid, "yes", [], lambda k, p: None).state["export_path"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = launch("127.0.0.1", port, settings=settings, chat_model=FakeChatModel(queue=["{}"]), block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict("", api_name="/on_load")
        client.predict(sid, api_name="/on_open")
        update, _chart = client.predict(api_name="/extras_4")  # the download after opening it
        zipped = Path(update["value"])  # gradio's copy of downloads/p2m-x.zip, as the browser gets it
        assert update["visible"] and zipped.name == "p2m-x.zip" and zipped.stat().st_size > 0
    finally:
        demo.close()
        shutil.rmtree(home, ignore_errors=True)
