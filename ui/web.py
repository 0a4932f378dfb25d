"""`p2m web`: the agent as a Gradio chat in the browser.

    p2m web                       # http://127.0.0.1:7860
    P2M_WEB_USER=me P2M_WEB_PASSWORD=... p2m web --host 0.0.0.0

State lives in the LangGraph checkpointer, not in the browser: the page keeps
only the session id (in the URL `?session=ID` and in localStorage), so a reload
or a server restart shows the same conversation.

`WebChat` is the page: its layout (`build`) and one named method per event,
after smolagents' `GradioUI`. The sessions behind it are `ui.web_backend`;
what is shown is rendered by `ui.render`; the ASGI guards are `ui.web_guard`.
A pause shows under the chat as buttons (and a radio per row when labels are
checked) from `ui.render_pause`; a click sends the reply a user would type.
"""

import queue
import threading
import uuid

import gradio as gr

from ui import render as R
from ui import render_pause as RP
from ui.web_backend import (  # noqa: F401 - re-exported: ui.web is the web front end's API
    DATA_SUFFIXES,
    DEFAULT_UPLOAD_MB,
    LOOPBACK,
    AuthRequired,
    WebBackend,
    check_data_files,
    upload_limit_mb,
    web_auth,
)

INTRO = ("Describe the task as you would prompt an LLM, with a few examples, e.g. *Classify "
         "support tickets as billing, technical or other. 'I was charged twice' -> billing*. "
         "Optionally upload your own labeled CSV/JSONL first.")
MAX_CHOICES = 10  # quick-reply buttons under the chat (a pause offers at most 9 today)
MAX_ROWS = 8  # one radio per row shown at verify_labels (agent.nodes.verify.SHOW)
SET_URL = ("(sid) => { const u = new URL(window.location.href); "
           "if (sid) { u.searchParams.set('session', sid); } else { u.searchParams.delete('session'); } "
           "window.history.replaceState(null, '', u.toString()); return []; }")


def _file_paths(files) -> list[str]:
    out = []
    for f in files or []:
        out.append(f if isinstance(f, str) else getattr(f, "name", None) or f.get("path"))
    return [p for p in out if p]


class WebChat:
    """The Gradio page over a `WebBackend`: `build()` lays it out, each event is a method."""

    def __init__(self, settings=None, chat_model=None, sizes=None, overrides=None):
        self.backend = WebBackend(settings, chat_model=chat_model, sizes=sizes, overrides=overrides)

    # -- what a session looks like -------------------------------------------------------
    def view(self, sid: str):
        """(chat, results, session label) for a session id."""
        turn = self.backend.load(sid) if sid else None
        if turn is None:
            return [], "", "No session yet: describe a task to start one."
        status = R.status_line(turn.state, turn.interrupt, turn.done)
        return (R.chat_messages(turn.state, turn.interrupt), R.results_markdown(turn.state),
                f"Session `{sid}` · {status}")

    def extras(self, sid: str):
        """The export download and the metric-per-round chart of a session."""
        import pandas as pd

        turn = self.backend.load(sid) if sid else None
        path = self.backend.export_zip(turn.state) if turn else None
        series = R.results_series(turn.state) if turn else []
        df = pd.DataFrame(series or [], columns=["round", "model", "score"])
        df["round"] = df["round"].map(lambda r: f"round {r}")  # categorical axis, no 1.000000
        return (gr.update(value=path, visible=bool(path)),
                gr.update(value=df, visible=bool(series)))

    def pause_panel(self, sid: str):
        """The pause under the chat: its view (kept in a State), the buttons, one radio per row.

        Hidden while a turn runs: the pause it shows is being answered.
        """
        turn = self.backend.load(sid) if sid and not self.backend.lock(sid).locked() else None
        return self.pause_updates(RP.pause_view(turn.interrupt) if turn else None)

    @staticmethod
    def pause_updates(view) -> list:
        """Updates for [view state, panel, *buttons, *radios, 'Send these labels'] from a PauseView."""
        choices = view.choices[:MAX_CHOICES] if view else []
        rows = view.rows[:MAX_ROWS] if view else []
        chips = [gr.update(visible=True, value=c.label, variant="primary" if i == 0 else "secondary")
                 for i, c in enumerate(choices)]
        chips += [gr.update(visible=False)] * (MAX_CHOICES - len(chips))
        radios = [gr.update(visible=True, choices=r.options(), value=r.label,
                            label=f"{r.i}. {' '.join(r.input.split())[:200]}") for r in rows]
        radios += [gr.update(visible=False, value=None)] * (MAX_ROWS - len(radios))
        return [view, gr.update(visible=bool(choices or rows)), *chips, *radios,
                gr.update(visible=bool(rows))]

    def choices(self):
        """The saved-sessions dropdown, refreshed."""
        return gr.update(choices=R.session_choices(self.backend.list_sessions()))

    # -- events ---------------------------------------------------------------------------
    def on_load(self, browser_sid, request: gr.Request):
        """Page load: the session named by ?session=, else the one in localStorage."""
        sid = ""
        if request is not None:
            sid = (dict(request.query_params).get("session") or "").strip()
        sid = sid or (browser_sid or "")
        if sid and self.backend.load(sid) is None:
            sid = ""
        chat, results, label = self.view(sid)
        return sid, sid, chat, results, label, gr.update(
            choices=R.session_choices(self.backend.list_sessions()), value=sid or None)

    def on_send(self, text, files, sid, history):
        """A message: start a session or answer its pause, streaming the steps as they run."""
        unchanged = (sid, sid, history, gr.update(), gr.update(), gr.update(), gr.update())
        text = (text or "").strip()
        if not text:
            gr.Warning("Type a message first.")
            yield unchanged
            return
        text, cut = R.truncate(text)
        paths = _file_paths(files)
        try:
            check_data_files(paths)
            if paths and not (sid and self.backend.sessions.exists(sid)):  # uploads start new sessions only
                self.backend.check_uploads(paths)
        except ValueError as e:
            gr.Warning(str(e))
            yield unchanged
            return
        new_sid = sid or uuid.uuid4().hex[:12]
        lock = self.backend.lock(new_sid)
        if not lock.acquire(blocking=False):
            gr.Warning("This session is busy with another message; try again when it finishes.")
            yield unchanged
            return
        base = list(history or []) + [{"role": "user", "content": text}]
        if cut:
            base.append({"role": "assistant", "content": "(your message was truncated to 40,000 characters)"})
        yield from self._run_turn(new_sid, text, paths, lock, base)

    def _run_turn(self, sid: str, text: str, paths: list[str], lock: threading.Lock, base: list[dict]):
        """The turn in a worker thread (lock held until it ends); yields the chat as events arrive."""
        be = self.backend
        events: queue.Queue = queue.Queue()
        box: dict = {}
        be.live[sid] = []

        def work():
            try:
                box["turn"] = be.turn(sid, text, paths, lambda k, p: events.put((k, p)))
            except Exception as e:  # noqa: BLE001 - shown in the chat, the session stays intact
                box["error"] = e
            finally:
                lock.release()

        steps: list[dict] = []
        worker = threading.Thread(target=work, name=f"p2m-web-{sid}", daemon=True)
        worker.start()
        yield sid, sid, base, "", gr.update(), f"Session `{sid}` · running", gr.update()
        while worker.is_alive() or not events.empty():
            try:
                kind, payload = events.get(timeout=0.3)
            except queue.Empty:
                continue
            m = R.event_message(kind, payload)
            if m:
                steps = R.merge_progress(steps + [m])
                be.live[sid] = steps
                yield sid, sid, base + steps, gr.update(), gr.update(), gr.update(), gr.update()
        worker.join()
        if "error" in box:
            chat = base + steps + [{"role": "assistant", "content": R.failure_text(box["error"])}]
            yield sid, sid, chat, "", gr.update(), f"Session `{sid}` · error", self.choices()
            return
        chat, results, label = self.view(sid)
        if steps and chat:  # keep this turn's tool activity just before the assistant's answer
            chat = chat[:-1] + steps + chat[-1:]
        yield sid, sid, chat, "", results, label, self.choices()

    def poll(self, sid, streaming, was_running):
        """Timer: a page that did not start the running turn (e.g. reloaded) follows it."""
        keep = gr.update()
        if streaming or not sid:
            return keep, keep, keep, False, keep, keep
        if self.backend.lock(sid).locked():
            chat, results, _ = self.view(sid)
            return (chat + list(self.backend.live.get(sid) or []), results,
                    f"Session `{sid}` · running (following live)", True, keep, keep)
        if was_running:
            chat, results, label = self.view(sid)
            return (chat, results, label, False, *self.extras(sid))
        return keep, keep, keep, False, keep, keep

    @staticmethod
    def pause_click(evt: gr.EventData):
        """Which control of the pause panel was clicked (its elem_id); the panel hides meanwhile."""
        return True, gr.update(visible=False), str(getattr(evt.target, "elem_id", "") or "")

    def on_pause(self, view, target, *rest):
        """A click in the pause panel: the same reply as typed, through `on_send`.

        A quick-reply button sends its reply (Edit only starts the text in the input box);
        'Send these labels' sends the radios as the verify reply the agent parses.
        """
        radios, (files, sid, history) = rest[:MAX_ROWS], rest[MAX_ROWS:]
        unchanged = (sid, sid, history, gr.update(), gr.update(), gr.update(), gr.update())
        i = int(target.rsplit("-", 1)[1]) if target.startswith("p2m-choice-") else -1
        if view is not None and target == "p2m-send-labels":
            text = RP.verdict_reply(view.rows[:MAX_ROWS], list(radios))
        elif view is not None and 0 <= i < len(view.choices):
            text = view.choices[i].reply
            if not view.choices[i].send:  # Edit: the user finishes the text and sends it
                yield (*unchanged[:3], gr.update(value=text), *unchanged[4:])
                return
        else:
            yield unchanged
            return
        yield from self.on_send(text, files, sid, history)

    def on_open(self, choice):
        """Open the session picked in the panel."""
        if not choice:
            gr.Warning("Pick a session first.")
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        chat, results, label = self.view(choice)
        return choice, choice, chat, results, label

    @staticmethod
    def on_new():
        return "", "", [], "", "New session: describe a task to start."

    @staticmethod
    def streaming_on():
        return True, gr.update(visible=False)  # the pause panel hides while its answer runs

    @staticmethod
    def streaming_off():
        return False

    # -- layout and wiring ----------------------------------------------------------------
    def build(self) -> gr.Blocks:
        """The Blocks app (not launched); `demo.p2m_backend` is the backend."""
        with gr.Blocks(title="p2m") as demo:
            browser_sid = gr.BrowserState("", storage_key="p2m_session_id")
            sid = gr.State("")
            streaming = gr.State(False)
            view = gr.State(None)  # the PauseView the pause panel shows
            clicked = gr.State("")  # the elem_id of the panel's control clicked last
            was_running = gr.State(False)
            timer = gr.Timer(2.0)
            gr.Markdown("## p2m: a task description in, a small model out\n" + INTRO)
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=520, elem_id="p2m-chat",
                                         feedback_options=None)
                    with gr.Column(visible=False, elem_id="p2m-pause") as pause_box:
                        with gr.Row(elem_id="p2m-choices"):
                            chips = [gr.Button("", visible=False, size="sm", elem_id=f"p2m-choice-{i}")
                                     for i in range(MAX_CHOICES)]
                        radios = [gr.Radio(choices=[], visible=False, elem_id=f"p2m-row-{i}")
                                  for i in range(MAX_ROWS)]
                        send_labels = gr.Button("Send these labels", visible=False, variant="primary",
                                                elem_id="p2m-send-labels")
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

            # Every event that changes the session ends by putting it in the URL and
            # refreshing the download and the chart. The registration order fixes the
            # API names (on_send, on_send_1, extras_4, ...): keep it.
            outs = [sid, browser_sid, chatbot, msg, results, label, picker]
            panel = [sid, browser_sid, chatbot, results, label]
            pause = [view, pause_box, *chips, *radios, send_labels]

            def finish(dep):
                return dep.then(None, inputs=[browser_sid], js=SET_URL) \
                    .then(self.extras, [sid], [export_file, chart]) \
                    .then(self.pause_panel, [sid], pause)

            finish(demo.load(self.on_load, inputs=[browser_sid], outputs=panel + [picker]))
            for ev in (send.click, msg.submit):
                finish(ev(self.streaming_on, outputs=[streaming, pause_box])
                       .then(self.on_send, inputs=[msg, upload, sid, chatbot], outputs=outs)
                       .then(self.streaming_off, outputs=[streaming]))
            clicks = [c.click for c in chips] + [send_labels.click]
            finish(gr.on(clicks, self.pause_click, outputs=[streaming, pause_box, clicked])
                   .then(self.on_pause, inputs=[view, clicked, *radios, upload, sid, chatbot], outputs=outs)
                   .then(self.streaming_off, outputs=[streaming]))
            timer.tick(self.poll, inputs=[sid, streaming, was_running],
                       outputs=[chatbot, results, label, was_running, export_file, chart],
                       show_progress="hidden")
            finish(open_btn.click(self.on_open, inputs=[picker], outputs=panel))
            refresh.click(self.choices, outputs=[picker])
            # a page that followed a run live shows its pause once the run ends
            was_running.change(self.pause_panel, [sid], pause, show_progress="hidden")
            finish(new_btn.click(self.on_new, outputs=panel))
        demo.p2m_backend = self.backend
        return demo

    def launch(self, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True) -> gr.Blocks:
        """Check auth, build and launch (never share=True). Returns the app when not blocking."""
        from ui.web_guard import LoginLimiter, guard_middleware

        auth = web_auth(host)
        demo = self.build()
        demo.queue(default_concurrency_limit=4)
        # No login: answer only to local Host names (DNS rebinding). A login: limit wrong passwords.
        guard = guard_middleware(local_only=auth is None, limiter=LoginLimiter() if auth else None)
        # Gradio serves files from the cwd and the temp dir only; the export zips live under P2M_HOME.
        downloads = self.backend.downloads_dir
        downloads.mkdir(parents=True, exist_ok=True)
        demo.launch(server_name=host, server_port=port, share=False, auth=auth,
                    prevent_thread_lock=not block, show_error=True, quiet=not block,
                    max_file_size=f"{upload_limit_mb()}mb",  # gradio counts while streaming to disk
                    allowed_paths=[str(downloads)], app_kwargs={"middleware": [guard]})
        return demo


def build_app(settings=None, chat_model=None, sizes=None, overrides=None) -> gr.Blocks:
    """The gradio Blocks app (not launched)."""
    return WebChat(settings, chat_model=chat_model, sizes=sizes, overrides=overrides).build()


def launch(host: str = "127.0.0.1", port: int = 7860, *, settings=None, chat_model=None,
           block: bool = True, sizes=None, overrides=None) -> gr.Blocks:
    """`p2m web`: build and launch the chat (see `WebChat.launch`)."""
    return WebChat(settings, chat_model=chat_model, sizes=sizes, overrides=overrides).launch(
        host, port, block=block)
