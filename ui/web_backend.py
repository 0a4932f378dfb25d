"""What the web chat needs that is not gradio: login rules, upload checks, the sessions.

`WebBackend` holds the sessions and the per-turn contexts behind the page; the
Gradio layout and its event handlers are `ui.web.WebChat`.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

LOOPBACK = {"127.0.0.1", "localhost", "::1", "0:0:0:0:0:0:0:1"}
DATA_SUFFIXES = {".csv", ".jsonl", ".json", ".parquet"}
DEFAULT_UPLOAD_MB = 200  # gradio refuses bigger uploads (413) before they reach a session


def upload_limit_mb(env: dict | None = None) -> int:
    """The largest upload in MB: P2M_WEB_MAX_UPLOAD_MB, default 200 (bad values: the default)."""
    env = os.environ if env is None else env
    raw = env.get("P2M_WEB_MAX_UPLOAD_MB", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_UPLOAD_MB


class AuthRequired(RuntimeError):
    """Binding to a non-loopback host without credentials."""


def web_auth(host: str, env: dict | None = None) -> tuple[str, str] | None:
    """Credentials for gradio's auth; required (AuthRequired) off loopback."""
    env = os.environ if env is None else env
    user, password = env.get("P2M_WEB_USER", ""), env.get("P2M_WEB_PASSWORD", "")
    if user and password:
        return (user, password)
    if host.strip("[]") in LOOPBACK:
        return None
    raise AuthRequired(
        f"Refusing to listen on {host} without a login: anyone on the network could drive the "
        "agent and spend your LLM budget. Set P2M_WEB_USER and P2M_WEB_PASSWORD, or bind to "
        "127.0.0.1 (the default).")


def check_data_files(paths: list[str]) -> list[str]:
    """Raise ValueError for uploads that are not CSV/JSONL/JSON/parquet."""
    bad = [Path(p).name for p in paths if Path(p).suffix.lower() not in DATA_SUFFIXES]
    if bad:
        raise ValueError(f"Unsupported file type: {', '.join(bad)}. Upload CSV, JSONL, JSON or parquet.")
    return paths


class WebBackend:
    """The sessions and per-turn contexts behind the page (no gradio here)."""

    def __init__(self, settings=None, chat_model=None, sizes=None, overrides=None):
        from agent.sessions import Sessions
        from tools.settings import get_settings

        self.settings = (settings or get_settings()).ensure_dirs()
        self.chat_model = chat_model
        self.sizes = sizes
        self.sessions = Sessions(self.settings, overrides)  # overrides: tests script nodes
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.live: dict[str, list[dict]] = {}
        """Step messages of the turn running now, per session (for pages that reload mid-run)."""

    @property
    def downloads_dir(self) -> Path:
        """Where export zips are built for download (the one folder gradio may serve from P2M_HOME)."""
        return Path(self.settings.home) / "downloads"

    def lock(self, sid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sid, threading.Lock())

    def context(self, sid: str | None, on_event=None):
        from agent.context import AgentContext, Sizes

        return AgentContext.create(self.settings, session_id=sid, chat_model=self.chat_model,
                                   sizes=self.sizes or Sizes(), on_event=on_event)

    def list_sessions(self) -> list[dict]:
        from tools.store import Store

        try:
            return Store(self.settings).query(
                "SELECT id, title, status, updated_at FROM sessions ORDER BY updated_at DESC LIMIT 100")
        except Exception:  # noqa: BLE001 - an empty or busy store shows an empty list
            return []

    def load(self, sid: str):
        """The Turn of a saved session, or None if unknown."""
        if not sid or not self.sessions.exists(sid):
            return None
        return self.sessions.state(sid)

    def export_zip(self, state: dict) -> str | None:
        """A zip of the exported folder for download (built once), or None."""
        path = state.get("export_path")
        if not path or not Path(path).is_dir():
            return None
        target = self.downloads_dir / f"{Path(path).name}.zip"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = shutil.make_archive(str(target.with_suffix("")) + ".part", "zip", path)
            os.replace(tmp, target)
        return str(target)

    @staticmethod
    def check_uploads(paths: list[str]) -> None:
        """ValueError with the reason an upload cannot be labeled data (before any LLM call)."""
        from tools.hub.user_files import check_user_file

        for p in paths:
            check_user_file(p)

    def keep_uploads(self, sid: str, files: list[str]) -> list[str]:
        """Copy uploads out of gradio's temp dir so a resumed session still finds them."""
        dest = Path(self.settings.home) / "uploads" / sid
        dest.mkdir(parents=True, exist_ok=True)
        out = []
        for f in files:
            target = dest / Path(f).name
            shutil.copyfile(f, target)
            out.append(str(target))
        return out

    def turn(self, sid: str | None, text: str, files: list[str], on_event):
        """Start a session (no sid / unknown sid) or answer its pending question."""
        if sid and self.sessions.exists(sid):
            return self.sessions.reply(sid, text, self.context(sid, on_event))
        from agent.sessions import valid_session_id

        if not (sid and valid_session_id(sid)):  # ?session= comes from the URL: never a path
            sid = uuid.uuid4().hex[:12]
        data = self.keep_uploads(sid, files) if files else []
        return self.sessions.start(text, self.context(sid, on_event), session_id=sid, data_files=data)
