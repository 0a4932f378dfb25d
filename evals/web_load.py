"""`p2m web` under N browser-like clients at once (issue 17's load run).

A real `p2m web --tiny` subprocess (or, in tests, the app in-process), the fake OpenAI
server as the teacher, N gradio_client clients at once, each running a session to its
end by clicking the first one-click answer at every pause (as a user would). Then every
session must be done, every example it used on record under it, no row rejected by the
store; the server's memory is sampled all along. Run by `python -m evals.hardening`.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evals.faults import DESC, REPO, SECRET, p2m_env, secret_in_tree, teacher_responder

_DONE = re.compile(r"· (done|stopped|error)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(url: str, deadline_s: float = 180.0, proc=None):
    """A gradio_client Client once the server answers."""
    from gradio_client import Client

    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return Client(url, verbose=False)
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                raise
            time.sleep(0.25)


def drive_web_session(url: str, description: str, max_turns: int = 12) -> dict:
    """One session through the page's API, clicking the first offered answer at each pause."""
    t0 = time.monotonic()
    client = connect(url)
    client.predict("", api_name="/on_load")
    text, history, label, turns = description, [], "", 0
    while turns < max_turns:
        turns += 1
        _sid, history, _msg, _results, label, _picker = client.predict(
            text, None, history, api_name="/on_send")
        if _DONE.search(label):
            break
        options = (history[-1] if history else {}).get("options") or []
        text = options[0]["value"] if options else "yes"
    m = re.search(r"Session `([^`]+)`", label)
    client.close()
    return {"session_id": m.group(1) if m else None, "label": label, "turns": turns,
            "done": "· done" in label, "seconds": round(time.monotonic() - t0, 1)}


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _tree(pid: int) -> list[int]:
    """pid and its descendants (training workers, export checks)."""
    kids: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        todo += kids.get(q, [])
    return out


class MemorySampler:
    """Peak RSS of a process and of its whole tree, sampled every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every = pid, every
        self.peak_mb = self.peak_tree_mb = 0.0
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            own = _rss_mb(self.pid)
            self.samples.append(own)
            self.peak_mb = max(self.peak_mb, own)
            self.peak_tree_mb = max(self.peak_tree_mb, sum(_rss_mb(p) for p in _tree(self.pid)))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def descriptions(n: int) -> list[str]:
    return [DESC.replace("tickets", f"tickets of team {i}") for i in range(n)]


def check_records(home: Path, outs: list[dict]) -> dict:
    """Every example a session used is on record under it; statuses; rejected rows."""
    from tools.settings import Settings
    from tools.store import Store

    store = Store(Settings(home=home))
    missing, calls = {}, {}
    for o in outs:
        sid = o["session_id"]
        recorded = {(r["input"], r["output"]) for r in store.query(
            "SELECT input, output FROM examples WHERE session_id = ?", [sid])}
        used = set()
        for f in (home / "runs" / sid / "data").glob("*.jsonl"):
            if not f.name.startswith("train_"):
                used |= {(e["input"], e["output"]) for e in map(json.loads, f.read_text().splitlines())}
        missing[sid] = len(used - recorded)
        calls[sid] = store.query("SELECT count(*) AS n FROM llm_calls WHERE session_id = ?", [sid])[0]["n"]
    statuses = {r["id"]: r["status"] for r in store.query("SELECT id, status FROM sessions")}
    return {"examples_missing": sum(missing.values()), "llm_calls": calls,
            "rejected_rows": store.query("SELECT count(*) AS n FROM _rejected")[0]["n"],
            "statuses": [statuses.get(o["session_id"]) for o in outs],
            "examples_on_record": store.query("SELECT count(*) AS n FROM examples")[0]["n"]}


def web_load(root: Path, n: int = 8, latency: float = 0.05) -> dict:
    """N concurrent clients on a real `p2m web --tiny` subprocess (see module doc)."""
    from tests.fakes.openai_server import FakeOpenAIServer

    home, port = root / "home", free_port()
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with FakeOpenAIServer(responder=teacher_responder, latency=latency) as srv:
        env = p2m_env(home, srv.base_url, PYTHONUNBUFFERED=1)
        log = (root / "web.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "web", "--tiny", "--port", str(port)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            connect(url, proc=proc).close()
            up_s = round(time.monotonic() - t0, 1)
            idle_mb = _rss_mb(proc.pid)
            with MemorySampler(proc.pid) as mem, ThreadPoolExecutor(n) as pool:
                t1 = time.monotonic()
                outs = list(pool.map(lambda d: drive_web_session(url, d), descriptions(n)))
                wall = round(time.monotonic() - t1, 1)
            end_mb = _rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        in_flight = srv.max_in_flight
    text = (root / "web.log").read_text(errors="replace")
    return {"clients": n, "completed": sum(o["done"] for o in outs), "sessions": outs,
            "wall_s": wall, "startup_s": up_s, "max_in_flight_at_teacher": in_flight,
            "server_idle_mb": round(idle_mb), "server_peak_mb": round(mem.peak_mb),
            "server_end_mb": round(end_mb), "tree_peak_mb": round(mem.peak_tree_mb),
            "traceback_in_log": "Traceback" in text,
            "secret_leaked": SECRET in text or bool(secret_in_tree(home)), **check_records(home, outs)}
