"""The embedded LLM server killed mid-generation: the round goes on, and no answered call is paid twice.

    python -m evals.embedded_kill --json        # SmolLM2 (fast); --model for another packaged one

A synthetic round (the product's generator, SST-2-like spec, concurrency 4) runs against
the embedded server; once a few requests are answered, the server gets SIGKILL. The client
sees refused connections, starts a new server (once) and retries the failed requests. Then
the same round runs again: a request answered before is a cache hit, so repeated paid calls
(paid calls of the re-run whose answer was already in the cache) must be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def run(model: str, n: int = 24, kill_after: int = 3) -> dict:
    from tools.contracts import Demonstration, TaskSpec
    from tools.llm import LLMClient, embedded
    from tools.settings import Settings
    from tools.synth import SynthConfig, generate_round
    from tools.synth.embed import hashed_bow_embed

    spec = TaskSpec(instruction="Classify the sentiment of the movie review as positive or negative.",
                    kind="classification", labels=["positive", "negative"],
                    demonstrations=[Demonstration(input="a gorgeous, witty film", output="positive"),
                                    Demonstration(input="dull and far too long", output="negative")])
    cfg = SynthConfig(concurrency=4, items_per_request=3, propose_attributes=False,
                      near_dup_threshold=None, overlap_threshold=None)
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=home, embedded_model=model)
        client = LLMClient(settings)
        client.chat([("user", "Say OK.")], purpose="warmup", max_tokens=2)
        old_pid = int(embedded.status(settings)["pid"])
        out: dict = {}
        t = threading.Thread(target=lambda: out.setdefault(
            "res", generate_round(spec, client, n=n, round=1, config=cfg, embedder=hashed_bow_embed)))
        t0 = time.monotonic()
        t.start()
        while client.usage["calls"] < 1 + kill_after and t.is_alive():
            time.sleep(0.05)
        answered_before = client.usage["calls"] - 1
        os.kill(old_pid, signal.SIGKILL)
        t.join()
        first = out["res"].report
        calls_first = client.usage["calls"] - 1
        new_pid = int(embedded.status(settings)["pid"])
        cached = {f.name for f in (settings.cache_dir / "llm").rglob("*.json")}
        again = LLMClient(settings)
        rerun = generate_round(spec, again, n=n, round=1, config=cfg, embedder=hashed_bow_embed).report
        fresh = {f.name for f in (settings.cache_dir / "llm").rglob("*.json")} - cached
        embedded.stop(settings)
    return {"model": model, "answered_before_kill": answered_before,
            "server_restarts": client.usage.get("server_restarts", 0), "new_server": new_pid != old_pid,
            "round_requests": first.requested, "round_errors": first.errors, "accepted": first.accepted,
            "calls_in_round": calls_first, "seconds": round(time.monotonic() - t0, 1),
            "rerun_paid_calls": again.usage["calls"], "rerun_cache_hits": again.usage["cache_hits"],
            # a paid call of the re-run that made no new cache entry asked something answered before
            "repeated_paid_calls": again.usage["calls"] - len(fresh),
            "rerun_accepted": rerun.accepted}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.embedded_kill", description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.model, a.n)
    print(json.dumps(r) if a.json else "\n".join(f"{k}: {v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
