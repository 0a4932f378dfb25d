"""`p2m web`: the agent as a Gradio chat in the browser.

    p2m web                       # http://127.0.0.1:7860
    P2M_WEB_USER=me P2M_WEB_PASSWORD=... p2m web --host 0.0.0.0

State lives in the LangGraph checkpointer, not in the browser: the page keeps
only the session id (in the URL `?session=ID` and in localStorage), so a reload
or a server restart shows the same conversation. Rendering is in ui/web_render.py.
"""

import os
import queue
import shutil
import threading
import uuid
from pathlib import Path

from ui import web_render as R

LOOPBACK = {"127.0.0.1", "localhost", "::1", "0:0:0:0:0:0:0:1"}
DATA_SUFFIXES = {".csv", ".jsonl", ".json", ".parquet"}
DEFAULT_UPLOAD_MB = 200  # gradio refuses bigger uploads (413) before they reach a session
INTRO = ("Describe the task as you would prompt an LLM, with a few examples, e.g. *Classify "
         "support tickets as billing, technical or other. 'I was charged twice' -> billing*. "
         "Optionally upload your own labeled CSV/JSONL first.")


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


def _file_paths(files) -> list[str]:
    out = []
    for f in files or []:
        out.append(f if isinstance(f, str) else getattr(f, "name", None) or f.get("path"))
    return [p for p in out if p]


def build_app(settings=None, chat_model=None, sizes=None, overrides=None):
    """The gradio Blocks app (not launched)."""
    import gradio as gr

    be = WebBackend(settings, chat_model=chat_model, sizes=sizes, overrides=overrides)

    def view(sid: str):
        """(chat, results, session label) for a session id; sets the export download."""
        turn = be.load(sid) if sid else None
        if turn is None:
            return [], "", "No session yet: describe a task to start one."
        status = R.status_line(turn.state, turn.interrupt, turn.done)
        return (R.chat_messages(turn.state, turn.interrupt), R.results_markdown(turn.state),
                f"Session `{sid}` · {status}")

    def extras(sid: str):
        """The export download and the metric-per-round chart of a session."""
        import pandas as pd

        turn = be.load(sid) if sid else None
        path = be.export_zip(turn.state) if turn else None
        series = R.results_series(turn.state) if turn else []
        df = pd.DataFrame(series or [], columns=["round", "model", "score"])
        df["round"] = df["round"].map(lambda r: f"round {r}")  # categorical axis, no 1.000000
        return (gr.update(value=path, visible=bool(path)),
                gr.update(value=df, visible=bool(series)))

    def choices():
        return gr.update(choices=R.session_choices(be.list_sessions()))

    def on_load(browser_sid, request: gr.Request):
        sid = ""
        if request is not None:
            sid = (dict(request.query_params).get("session") or "").strip()
        sid = sid or (browser_sid or "")
        if sid and be.load(sid) is None:
            sid = ""
        chat, results, label = view(sid)
        return sid, sid, chat, results, label, gr.update(
            choices=R.session_choices(be.list_sessions()), value=sid or None)

    def on_send(text, files, sid, history):
        text = (text or "").strip()
        if not text:
            gr.Warning("Type a message first.")
            yield sid, sid, history, gr.update(), gr.update(), gr.update(), gr.update()
            return
        text, cut = R.truncate(text)
        paths = _file_paths(files)
        try:
            check_data_files(paths)
            if paths and not (sid and be.sessions.exists(sid)):  # uploads start new sessions only
                be.check_uploads(paths)
        except ValueError as e:
            gr.Warning(str(e))
            yield sid, sid, history, gr.update(), gr.update(), gr.update(), gr.update()
            return
        new_sid = sid or uuid.uuid4().hex[:12]
        lock = be.lock(new_sid)
        if not lock.acquire(blocking=False):
            gr.Warning("This session is busy with another message; try again when it finishes.")
            yield sid, sid, history, gr.update(), gr.update(), gr.update(), gr.update()
            return
        events: queue.Queue = queue.Queue()
        box: dict = {}
        be.live[new_sid] = []

        def work():
            try:
                box["turn"] = be.turn(new_sid, text, paths,
                                      lambda k, p: events.put((k, p)))
            except Exception as e:  # noqa: BLE001 - shown in the chat, the session stays intact
                box["error"] = e
            finally:
                lock.release()

        base = list(history or []) + [{"role": "user", "content": text}]
        if cut:
            base.append({"role": "assistant", "content": "(your message was truncated to 40,000 characters)"})
        steps: list[dict] = []
        worker = threading.Thread(target=work, name=f"p2m-web-{new_sid}", daemon=True)
        worker.start()
        yield new_sid, new_sid, base, "", gr.update(), f"Session `{new_sid}` · running", gr.update()
        while worker.is_alive() or not events.empty():
            try:
                kind, payload = events.get(timeout=0.3)
            except queue.Empty:
                continue
            m = R.event_message(kind, payload)
            if m:
                steps = R.merge_progress(steps + [m])
                be.live[new_sid] = steps
                yield new_sid, new_sid, base + steps, gr.update(), gr.update(), gr.update(), gr.update()
        worker.join()
        if "error" in box:
            chat = base + steps + [{"role": "assistant", "content": R.failure_text(box["error"])}]
            yield new_sid, new_sid, chat, "", gr.update(), f"Session `{new_sid}` · error", choices()
            return
        chat, results, label = view(new_sid)
        # keep this turn's tool activity just before the assistant's answer
        if steps and chat:
            chat = chat[:-1] + steps + chat[-1:]
        yield new_sid, new_sid, chat, "", results, label, choices()

    def poll(sid, streaming, was_running):
        """Timer: a page that did not start the running turn (e.g. reloaded) follows it."""
        keep = gr.update()
        if streaming or not sid:
            return keep, keep, keep, False, keep, keep
        if be.lock(sid).locked():
            chat, results, _ = view(sid)
            return (chat + list(be.live.get(sid) or []), results,
                    f"Session `{sid}` · running (following live)", True, keep, keep)
        if was_running:
            chat, results, label = view(sid)
            return (chat, results, label, False, *extras(sid))
        return keep, keep, keep, False, keep, keep

    def pick_option(evt: gr.SelectData):
        """A one-click answer (Approve, a dataset number...): its reply text."""
        value = evt.value
        if isinstance(value, dict):
            value = value.get("value") or value.get("label")
        return str(value or ""), True

    def on_open(choice):
        if not choice:
            gr.Warning("Pick a session first.")
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        chat, results, label = view(choice)
        return choice, choice, chat, results, label

    def on_new():
        return "", "", [], "", "New session: describe a task to start."

    set_url = ("(sid) => { const u = new URL(window.location.href); "
               "if (sid) { u.searchParams.set('session', sid); } else { u.searchParams.delete('session'); } "
               "window.history.replaceState(null, '', u.toString()); return []; }")

    with gr.Blocks(title="p2m") as demo:
        browser_sid = gr.BrowserState("", storage_key="p2m_session_id")
        sid = gr.State("")
        streaming = gr.State(False)
        picked = gr.State("")
        was_running = gr.State(False)
        timer = gr.Timer(2.0)
        gr.Markdown("## p2m: a task description in, a small model out\n" + INTRO)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=520, elem_id="p2m-chat",
                                     feedback_options=None)
                with gr.Row():
                    msg = gr.Textbox(placeholder="Describe the task, or answer the question above",
                                     show_label=False, scale=5, elem_id="p2m-input", lines=2)
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="p2m-send")
                with gr.Row():
                    with gr.Column(scale=3):
                        gr.Markdown("**Results** (student / teacher / base, per round)")
                        results = gr.Markdown("", elem_id="p2m-results")
                    export_file = gr.File(label="Exported model (zip)", visible=False,
                                          interactive=False, elem_id="p2m-export", scale=1)
                chart = gr.ScatterPlot(x="round", y="score", color="model", visible=False,
                                    label="Metric per round", elem_id="p2m-chart", height=220)
                upload = gr.File(label=f"Your labeled data (CSV/JSONL, up to {upload_limit_mb()} MB), "
                                       "used when a new session starts",
                                 file_count="multiple", file_types=sorted(DATA_SUFFIXES),
                                 elem_id="p2m-upload", height=120)
            with gr.Column(scale=1):
                label = gr.Markdown("No session yet.", elem_id="p2m-session")
                picker = gr.Dropdown(choices=[], label="Saved sessions", elem_id="p2m-sessions",
                                     interactive=True)
                with gr.Row():
                    open_btn = gr.Button("Open", elem_id="p2m-open")
                    refresh = gr.Button("Refresh", elem_id="p2m-refresh")
                new_btn = gr.Button("New session", elem_id="p2m-new")

        outs = [sid, browser_sid, chatbot, msg, results, label, picker]
        demo.load(on_load, inputs=[browser_sid], outputs=[sid, browser_sid, chatbot, results, label, picker]) \
            .then(None, inputs=[browser_sid], js=set_url).then(extras, [sid], [export_file, chart])
        def streaming_on():
            return True

        def streaming_off():
            return False

        for ev in (send.click, msg.submit):
            ev(streaming_on, outputs=[streaming]) \
                .then(on_send, inputs=[msg, upload, sid, chatbot], outputs=outs) \
                .then(streaming_off, outputs=[streaming]) \
                .then(None, inputs=[browser_sid], js=set_url).then(extras, [sid], [export_file, chart])
        chatbot.option_select(pick_option, outputs=[picked, streaming]) \
            .then(on_send, inputs=[picked, upload, sid, chatbot], outputs=outs) \
            .then(streaming_off, outputs=[streaming]) \
            .then(None, inputs=[browser_sid], js=set_url).then(extras, [sid], [export_file, chart])
        timer.tick(poll, inputs=[sid, streaming, was_running],
                   outputs=[chatbot, results, label, was_running, export_file, chart],
                   show_progress="hidden")
        open_btn.click(on_open, inputs=[picker], outputs=[sid, browser_sid, chatbot, results, label]) \
            .then(None, inputs=[browser_sid], js=set_url).then(extras, [sid], [export_file, chart])
        refresh.click(choices, outputs=[picker])
        new_btn.click(on_new, outputs=[sid, browser_sid, chatbot, results, label]) \
            .then(None, inputs=[browser_sid], js=set_url).then(extras, [sid], [export_file, chart])
    demo.p2m_backend = be
    return demo


def launch(host: str = "127.0.0.1", port: int = 7860, *, settings=None, chat_model=None,
           block: bool = True):
    """Check auth, build and launch (never share=True). Returns the app when not blocking."""
    from ui.web_guard import LoginLimiter, guard_middleware

    auth = web_auth(host)
    demo = build_app(settings, chat_model=chat_model)
    demo.queue(default_concurrency_limit=4)
    # No login: answer only to local Host names (DNS rebinding). A login: limit wrong passwords.
    guard = guard_middleware(local_only=auth is None, limiter=LoginLimiter() if auth else None)
    # Gradio serves files from the cwd and the temp dir only; the export zips live under P2M_HOME.
    downloads = demo.p2m_backend.downloads_dir
    downloads.mkdir(parents=True, exist_ok=True)
    demo.launch(server_name=host, server_port=port, share=False, auth=auth,
                prevent_thread_lock=not block, show_error=True, quiet=not block,
                max_file_size=f"{upload_limit_mb()}mb",  # gradio counts while streaming to disk
                allowed_paths=[str(downloads)], app_kwargs={"middleware": [guard]})
    return demo
