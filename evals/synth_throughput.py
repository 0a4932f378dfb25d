"""Synthetic-data generation: throughput, resumability, and the embedded teacher's yield.

    python -m evals.synth_throughput --json                 # all three parts
    python -m evals.synth_throughput --json --skip-embedded # the fast parts only (~30 s)
    python -m evals.synth_throughput --json --tasks trec --n 10

1. Throughput: a local OpenAI-compatible server (tests/fakes) answers every
   request after a fixed latency; the achieved requests/s of `generate_round` as
   a fraction of concurrency / latency (target >= 0.8 at concurrency 16).
2. Kill and restart: a child process generates a round against that server; the
   server stops answering after M requests, the parent waits until the M replies
   are in the child's cache, kills it with SIGKILL, then re-runs the round to the
   end. Duplicate paid calls = requests of the second run whose body was already
   answered in the first (target 0); accepted examples lost = accepted rows stored
   by the first run missing after the second (target 0).
3. The embedded teacher (SmolLM2-135M through `LLMClient(Settings())` with no
   endpoint configured) on real tasks of ../shared/data/tasks: acceptance and
   duplicate rates, demonstrations from the train split only, the test split's
   inputs as the contamination check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO.parent / "shared" / "data" / "tasks"
SESSION = "synth-eval"


def _body_key(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def responder(body: dict) -> str:
    """A well-behaved teacher: unique inputs per request seed and item, the label asked for."""
    import re

    prompt = body["messages"][-1]["content"]
    if '"topics"' in prompt:
        return json.dumps({"topics": ["bank alerts", "family chat", "deliveries", "prizes"],
                           "styles": ["terse", "chatty"]})
    if m := re.search(r'Write (\d+) new inputs whose correct output is "(\w+)"', prompt):
        k, label = int(m.group(1)), m.group(2)
        subjects = re.findall(r"^\d+\. subject: (.*?); style", prompt, re.M)
        return json.dumps({"inputs": [f"message {body.get('seed')}-{j} on {s} clearly {label}"
                                      for j, s in enumerate(subjects[:k])]})
    m = re.search(r"clearly (\w+)", prompt)  # the teacher's answer to one input
    return json.dumps({"output": m.group(1) if m else "ham"})


def _spam_spec():
    from tools.contracts import Demonstration, TaskSpec

    return TaskSpec(instruction="Classify an SMS message as spam or ham.", kind="classification",
                    labels=["spam", "ham"],
                    demonstrations=[Demonstration(input="WIN a prize, call now", output="spam"),
                                    Demonstration(input="see you at lunch", output="ham")])


def _fast_config(concurrency: int, k: int = 0, items: int = 6):
    from tools.synth import SynthConfig

    return SynthConfig(concurrency=concurrency, consistency_k=k, propose_attributes=False,
                       near_dup_threshold=None, overlap_threshold=None, items_per_request=items)


# -- 1. throughput --------------------------------------------------------------
def _serve(latency: float) -> None:
    """(In a subprocess) serve the fake endpoint; print the URL; report counts on stdin EOF."""
    from tests.fakes.openai_server import FakeOpenAIServer

    with FakeOpenAIServer(responder=responder, latency=latency) as srv:
        print(srv.base_url, flush=True)
        sys.stdin.read()
        print(json.dumps({"chat": srv.counts["chat"], "max_in_flight": srv.max_in_flight}), flush=True)


def throughput(concurrency: int = 16, latency: float = 0.2, requests: int = 320, items: int = 6) -> dict:
    """Requests/s of a round against a server with fixed latency, vs the ideal.

    The server runs in its own process, as a real endpoint would: in-process it
    would take its CPU share from the client under test.
    """
    from tools.llm import LLMClient
    from tools.settings import Settings
    from tools.synth import generate_round

    server = subprocess.Popen([sys.executable, "-m", "evals.synth_throughput", "--serve",
                               str(latency)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as home:
            s = Settings(home=home, openai_base_url=url, openai_api_key="sk-eval-000000",
                         model="fake-model")
            client = LLMClient(s)
            client.chat([("user", "warm up")], purpose="warmup")  # imports and first connection
            t0, cpu0 = time.perf_counter(), time.process_time()
            res = generate_round(_spam_spec(), client, n=requests * items, round=1,
                                 config=_fast_config(concurrency, items=items))
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        counts, _ = server.communicate("", timeout=30)
        counts = json.loads(counts.strip().splitlines()[-1])
    finally:
        if server.poll() is None:
            server.kill()
    n_req = counts["chat"] - 1
    rps = n_req / wall
    ideal = concurrency / latency
    return {"concurrency": concurrency, "latency_s": latency, "requests": n_req,
            "seconds": round(wall, 2), "requests_per_s": round(rps, 1), "ideal_per_s": ideal,
            "fraction_of_ideal": round(rps / ideal, 3), "accepted": res.report.accepted,
            "items_per_request": items, "examples_per_s": round(res.report.accepted / wall, 1),
            "max_in_flight": counts["max_in_flight"],
            # the client's own CPU per request (openai/langchain/cache/store): the ceiling
            # is about 1000 / this per free core, so a loaded box caps throughput
            "client_cpu_ms_per_request": round(cpu / max(1, n_req) * 1000, 2),
            "load_avg_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}


# -- 2. kill -9 and restart -----------------------------------------------------------
def _child(n: int, concurrency: int, k: int, items: int) -> None:
    """Run one round (in a subprocess) against OPENAI_BASE_URL, storing as it goes."""
    from tools.llm import LLMClient
    from tools.settings import Settings
    from tools.store import Store
    from tools.synth import generate_round

    settings = Settings()
    store = Store(settings)
    client = LLMClient(settings, store=store, session_id=SESSION)
    res = generate_round(_spam_spec(), client, n=n, round=1, store=store, session_id=SESSION,
                         config=_fast_config(concurrency, k, items))
    print(json.dumps({"accepted": res.report.accepted, "calls_paid": res.report.calls_paid,
                      "cache_hits": res.report.cache_hits}))


def kill_restart(n: int = 60, concurrency: int = 4, k: int = 1, items: int = 3,
                 answer_first: int = 40, timeout: float = 120.0) -> dict:
    """Kill a generating child after `answer_first` replies; re-run; count repeats.

    Each request asks for `items` examples and k answers per example, so 40
    replies answer about 10 requests with their consistency calls, and the
    child is killed with more requests in flight.
    """
    from tests.fakes.openai_server import FakeOpenAIServer
    from tools.settings import Settings
    from tools.store import Store

    answered: list[set] = [set(), set()]
    phase = {"run": 0}
    gate = threading.Event()  # set: answer everything (second run)
    lock = threading.Lock()

    def gated(body: dict):
        with lock:
            run = phase["run"]
            if run == 0 and len(answered[0]) >= answer_first:
                hold = True
            else:
                hold = False
                answered[run].add(_body_key(body))
        if hold:  # never answered: the child is killed while waiting for this one
            gate.wait(timeout)
            return "{}"
        return responder(body)

    with tempfile.TemporaryDirectory() as home, FakeOpenAIServer(responder=gated) as srv:
        srv._httpd.handle_error = lambda *a: None  # replies to the killed child: broken pipes
        env = {**os.environ, "P2M_HOME": home, "OPENAI_BASE_URL": srv.base_url,
               "OPENAI_API_KEY": "sk-eval-000000", "P2M_MODEL": "fake-model",
               "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
        cmd = [sys.executable, "-m", "evals.synth_throughput", "--child", str(n),
               str(concurrency), str(k), str(items)]
        child = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        cache = Path(home) / "cache" / "llm"
        deadline = time.monotonic() + timeout
        # Wait for the answered replies to be cached (a condition, not a fixed sleep).
        while sum(1 for _ in cache.glob("*/*.json")) < answer_first:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"child ended or stalled before the kill: {child.stderr.read()}")
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        settings = Settings(home=home)
        first = {r["id"] for r in Store(settings).query(
            "SELECT id FROM examples WHERE accepted AND session_id = ?", [SESSION])}
        with lock:
            phase["run"] = 1
        gate.set()
        t1 = len(srv.requests)
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"second run failed: {done.stderr[-2000:]}")
        second = [_body_key(r["body"]) for r in srv.requests[t1:] if r["body"]]
        final = {r["id"] for r in Store(settings).query(
            "SELECT id FROM examples WHERE accepted AND session_id = ?", [SESSION])}
        rows = Store(settings).query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM examples")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return {"answered_before_kill": len(answered[0]), "accepted_stored_before_kill": len(first),
            "requests_after_restart": len(second),
            "duplicate_paid_calls": sum(1 for b in second if b in answered[0]),
            "accepted_lost": len(first - final), "accepted_final": len(final),
            "example_rows": rows[0]["n"], "cache_hits_after_restart": out["cache_hits"],
            "target": n}


# -- 3. the embedded teacher ----------------------------------------------------------
def _task_spec(name: str, n_demos: int = 4):
    from tools.contracts import Demonstration, TaskSpec

    d = TASKS / name
    labels = json.loads((d / "labels.json").read_text())["labels"]
    train = [json.loads(x) for x in (d / "train.jsonl").read_text().splitlines() if x.strip()]
    rng = random.Random(0)
    demos = rng.sample(train, n_demos)  # the train split only
    instr = {"trec": "Classify the type of answer a question asks for: ABBR (abbreviation), "
                     "DESC (description), ENTY (entity), HUM (person), LOC (location), NUM (number).",
             "sms_spam": "Classify an SMS message as spam or ham (not spam).",
             "sst2": "Classify the sentiment of a movie review sentence as positive or negative."}
    spec = TaskSpec(instruction=instr.get(name, f"Classify the text ({name})."),
                    kind="classification", labels=labels,
                    input_format={"trec": "a question", "sms_spam": "an SMS message",
                                  "sst2": "a sentence from a movie review"}.get(name, "text"),
                    output_format="one label",
                    demonstrations=[Demonstration(input=r["input"], output=r["output"]) for r in demos])
    test_inputs = [json.loads(x)["input"] for x in (d / "test.jsonl").read_text().splitlines() if x.strip()]
    return spec, test_inputs


def embedded(tasks: list[str], n: int, k: int) -> list[dict]:
    """Acceptance and duplicate rates of the embedded teacher on real task specs."""
    from tools.llm import LLMClient
    from tools.settings import Settings
    from tools.synth import SynthConfig, estimate_round, generate_round

    settings = Settings()
    client = LLMClient(settings)
    out = []
    for name in tasks:
        spec, test_inputs = _task_spec(name)
        cfg = SynthConfig(concurrency=2, consistency_k=k, attempts_factor=2.0)
        est = estimate_round(spec, n, cfg, client)
        t0 = time.perf_counter()
        res = generate_round(spec, client, n=n, round=1, config=cfg, eval_inputs=test_inputs)
        r = res.report
        out.append({"task": name, "teacher": r.teacher, "target": n, "requests": r.requested,
                    "accepted": r.accepted, "acceptance_rate": round(r.acceptance_rate, 3),
                    "duplicate_rate": r.duplicate_rate, "rejected_by_reason": r.rejected_by_reason,
                    "malformed": r.malformed, "label_counts": r.label_counts,
                    "consistency_agreement": r.consistency_agreement, "stopped": r.stopped,
                    "calls_paid": r.calls_paid, "cache_hits": r.cache_hits,
                    "seconds": round(time.perf_counter() - t0, 1),
                    "estimate": {"calls": est.calls_expected, "seconds": est.seconds},
                    "sample_accepted": [(e.input[:80], e.output) for e in res.accepted[:3]],
                    "sample_rejected": [(e.input[:60], next(v for v in e.verdicts.values()
                                                            if v != "pass")[:90])
                                        for e in res.examples if not e.accepted][:4]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--skip-embedded", action="store_true")
    ap.add_argument("--tasks", nargs="+", default=["trec", "sms_spam", "sst2"])
    ap.add_argument("--n", type=int, default=30, help="examples per task (embedded part)")
    ap.add_argument("--k", type=int, default=1, help="self-consistency answers (embedded part)")
    ap.add_argument("--child", nargs=4, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.serve is not None:
        _serve(a.serve)
        return 0
    if a.child:
        _child(*a.child)
        return 0
    result = {"throughput": throughput(),
              # a realistic LLM latency: client CPU matters less, concurrency does the work
              "throughput_1s_latency": throughput(latency=1.0, requests=160),
              "kill_restart": kill_restart()}
    if not a.skip_embedded:
        result["embedded"] = embedded(a.tasks, a.n, a.k)
    print(json.dumps(result, indent=None if a.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
