"""The embedded LLM server process: llama.cpp's OpenAI-compatible server, in-process.

Started detached by `tools.llm.embedded.ensure_running` as
    python tools/llm/embedded_main.py --gguf MODEL.gguf --alias NAME --ready-file F
or in the foreground by `p2m llm serve`. It imports nothing from the project
(only xllamacpp and the stdlib), so it runs as a plain script from any cwd.

Port 0 lets the OS pick a free port inside the server itself (no race between
choosing a port and binding it); the bound address is written to --ready-file
as JSON once the model is loaded. SIGTERM and SIGINT shut the server down
cleanly (llama.cpp's destructor stops its loop and frees the model). With
--idle-minutes the server also stops after that long without a request (it
reads its own /metrics counters), and with --home when that folder is deleted:
a 1-2 GB model must not outlive the sessions that started it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.request
from urllib.parse import urlparse

# Slots serve concurrent requests (synthetic data generation sends several at
# once); with a unified KV cache every slot may use the whole context, so one
# long prompt still fits while short ones share it.
DEFAULT_PARALLEL = 4
DEFAULT_CTX = 8192
WATCH_SECONDS = 15.0


class _Stop(Exception):
    """Raised from the signal handler to leave the wait loop."""


def _on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Stop()


def start_server(gguf: str, alias: str, port: int = 0, threads: int = 1,
                 batch_threads: int | None = None, parallel: int = DEFAULT_PARALLEL,
                 ctx: int = DEFAULT_CTX):
    """Load `gguf` and start serving on 127.0.0.1:`port`; returns (server, port).

    Keep the returned server referenced: dropping it stops the server.
    """
    import xllamacpp as x

    p = x.CommonParams()
    p.model.path = gguf
    p.hostnames = ["127.0.0.1"]
    p.port = port
    p.n_ctx = ctx
    p.n_parallel = parallel
    p.kv_unified = True
    # Generation is memory-bound: 1 thread is the measured sweet spot on a shared
    # box; prompt processing is compute-bound and gains from a second core.
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = batch_threads or max(threads, min(2, os.cpu_count() or 1))
    p.model_alias = {alias}
    p.offline = True
    p.endpoint_metrics = True  # the idle watchdog reads the request counters
    # Loopback only, no bundled web UI, and no permissive CORS: a web page in the
    # user's browser must not be able to drive the model.
    p.ui = False
    p.cors_origins = "http://127.0.0.1"
    server = x.Server(p)
    bound = urlparse(server.listening_address).port or port
    return server, bound


def activity(port: int) -> tuple | None:
    """The server's request counters (changing means it works), or None if unreadable."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except (OSError, ValueError):
        return None
    vals = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:") and " " in line:
            name, _, value = line.partition(" ")
            vals[name] = value
    return (vals.get("llamacpp:n_decode_total"), vals.get("llamacpp:prompt_tokens_total"),
            vals.get("llamacpp:prompt_tokens_cached_total"), vals.get("llamacpp:requests_processing"))


def watch(port: int, home: str | None, idle_minutes: float, poll_s: float = WATCH_SECONDS,
          clock=time.monotonic, sleep=time.sleep) -> str:
    """Block until the server should stop; returns why (home gone, or idle too long)."""
    last, since = activity(port), clock()
    while True:
        sleep(poll_s)
        if home and not os.path.isdir(home):
            return f"its P2M_HOME {home} was deleted"
        now = activity(port)
        busy = now is not None and now[3] not in (None, "0")
        if now != last or busy:
            last, since = now, clock()
        elif idle_minutes > 0 and clock() - since >= idle_minutes * 60:
            return f"idle for {idle_minutes:g} minutes"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve until SIGTERM/SIGINT, exit 0 on a clean stop."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--alias", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL)
    ap.add_argument("--ctx", type=int, default=DEFAULT_CTX)
    ap.add_argument("--ready-file", default=None,
                    help="Write {'port', 'pid'} here as JSON once the model is loaded.")
    ap.add_argument("--home", default=None, help="Stop when this folder (P2M_HOME) is deleted.")
    ap.add_argument("--idle-minutes", type=float, default=0.0,
                    help="Stop after this many minutes without a request (0: never).")
    ap.add_argument("--watch-seconds", type=float, default=WATCH_SECONDS,
                    help="How often the watchdog checks the home folder and the counters.")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server = None
    try:
        server, port = start_server(args.gguf, args.alias, args.port, args.threads,
                                    parallel=args.parallel, ctx=args.ctx)
        print(f"p2m-embedded: serving {args.alias} at http://127.0.0.1:{port}/v1 "
              f"(pid {os.getpid()})", flush=True)
        if args.ready_file:
            tmp = args.ready_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"port": port, "pid": os.getpid()}, f)
            os.replace(tmp, args.ready_file)  # atomic: the reader never sees half a file
        if args.home or args.idle_minutes > 0:
            why = watch(port, args.home, args.idle_minutes, args.watch_seconds)
            print(f"p2m-embedded: stopping: {why}", flush=True)
        else:
            while True:
                time.sleep(3600)
    except _Stop:
        print("p2m-embedded: stopping", flush=True)
    finally:
        del server  # llama.cpp's destructor joins its threads and frees the model
    return 0


if __name__ == "__main__":
    sys.exit(main())
