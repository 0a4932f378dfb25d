"""Fault suite harness: kill -9 at each stage and resume, endpoint faults at set rates.

    python -m evals.faults            # prints the summary table, appends it to evals/RESULTS.md
    python -m evals.faults --no-write # print only

The helpers here (a teacher responder for the fake OpenAI server, a tiny catalog,
a `p2m` subprocess runner that kills at a stage) are shared by tests/test_faults_*.py,
tests/test_bad_inputs.py and tests/test_load.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from evals.results import publish

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-FAKESECRET-p2m-7c1d9e4b2a"  # recognisable: grep every output and the store for it

LABELS = ("billing", "technical", "other")
BILLING = ["I was charged twice for my plan", "Please refund my last invoice", "My card payment failed",
           "Why is my bill higher this month", "Cancel the extra charge on my account"]
TECH = ["The app crashes when I log in", "I can't reset my password", "The website shows error 500",
        "Sync stopped working on my phone", "Uploads fail with a timeout"]
OTHER = ["Do you have an office in Berlin", "I love your product, thanks", "Can I talk to sales",
         "What are your opening hours", "Is there a student discount program"]
KEYWORDS = {"billing": ("charge", "refund", "invoice", "bill", "payment", "card", "price", "paid"),
            "technical": ("crash", "password", "error", "sync", "upload", "bug", "login", "log in",
                          "timeout", "broken")}
DESC = ("Classify customer support tickets as billing, technical or other. "
        "'I was charged twice' -> billing; 'The app crashes' -> technical")


# -- the teacher ------------------------------------------------------------------
def _label_for(text: str) -> str:
    t = text.lower()
    for lab, words in KEYWORDS.items():
        if any(w in t for w in words):
            return lab
    return "other"


_TEMPLATES = {"billing": "Invoice {n} was charged twice and I want a refund for order {h}",
              "technical": "The app shows error {n} and crashes on screen {h}",
              "other": "Do you have an office near street {n}, asking for branch {h}"}


def teacher_responder(body: dict):
    """Valid, deterministic replies for every prompt p2m sends (intake, clarify, synth, eval)."""
    msgs = body.get("messages") or []
    last = ""
    for m in reversed(msgs):
        if m.get("role") == "user":
            c = m.get("content")
            last = c if isinstance(c, str) else " ".join(p.get("text", "") for p in c or [])
            break
    rf = body.get("response_format") or {}
    schema = (rf.get("json_schema") or {}).get("schema") or {}
    props = set((schema.get("properties") or {}).keys())
    tools = body.get("tools") or []
    if not props and tools:  # function_calling method
        props = set(((tools[0].get("function") or {}).get("parameters") or {}).get("properties", {}))
    h = hashlib.sha1(json.dumps(msgs, sort_keys=True).encode()).hexdigest()
    if "kind" in props:
        labels = [l for l in LABELS if l in last.lower()]
        out = {"kind": "classification", "labels": labels or list(LABELS),
               "input_format": "a support ticket", "output_format": "one label"}
    elif "action" in props:
        out = {"action": "proceed", "question": ""}
    elif "topics" in props:
        out = {"topics": ["accounts", "shipping", "mobile app", "website", "pricing", "support"],
               "styles": ["casual", "formal"]}
    elif "inputs" in props or "examples" in props:  # one request asks for k examples
        m = re.search(r'Write (\d+) new (?:inputs whose correct output is "([^"]+)"|examples)', last)
        k = int(m.group(1)) if m else 1
        items = []
        for j in range(k):
            lab = (m.group(2) if m and m.group(2) else None) or LABELS[(int(h[:2], 16) + j) % 3]
            text = _TEMPLATES.get(lab, "Question {n} about item {h}").format(
                n=(int(h[:6], 16) + 7919 * j) % 100000, h=h[6 + j % 4:14 + j % 4])
            items.append((text, lab))
        out = ({"inputs": [t for t, _ in items]} if "inputs" in props
               else {"examples": [{"input": t, "output": lab} for t, lab in items]})
    elif "output" in props:  # the teacher doing the task: the input is the last user turn
        m = re.search(r"Input: (.*)", last)
        out = {"output": _label_for(m.group(1) if m else last)}
    elif "labels" in props or "instruction" in props:
        out = {"instruction": "", "labels": [], "target": None}
    elif rf.get("type") in ("json_schema", "json_object"):
        from tests.fakes.openai_server import schema_instance
        out = schema_instance(schema) if schema else {}
    else:  # plain chat: the teacher doing the task (evaluation)
        return _label_for(last)
    if tools and not rf:
        return {"content": None, "tool_calls": [{"name": tools[0]["function"]["name"],
                                                 "arguments": out}]}
    return json.dumps(out)


# -- data -------------------------------------------------------------------------
def make_catalog(root: Path, name: str = "support_tickets") -> Path:
    """A local catalog with one support-ticket dataset (train and test files and a card)."""
    ds = root / name
    ds.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    rows = [{"text": f"{t} {suffix}".strip(), "label": lab}
            for lab, texts in (("billing", BILLING), ("technical", TECH), ("other", OTHER))
            for t in texts for suffix in ("", "please", "today", "asap")]
    rng.shuffle(rows)
    for split, part in (("train", rows[:45]), ("test", rows[45:])):
        (ds / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    (ds / "README.md").write_text("---\nlicense: cc0-1.0\n---\nCustomer support tickets "
                                  "classified as billing, technical or other.\n")
    return root


# -- running p2m ------------------------------------------------------------------
def p2m_env(home: Path, base_url: str | None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "P2M_MODEL", "PYTEST_CURRENT_TEST")}
    env.update({"P2M_HOME": str(home), "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1",
                "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false", "OPENAI_API_KEY": SECRET,
                "PYTHONPATH": str(REPO)})
    if base_url:
        env.update({"OPENAI_BASE_URL": base_url, "P2M_MODEL": "fake-model"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def p2m_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", *args]


def parse_json_out(stdout: str) -> dict:
    i = stdout.find("{\n")
    if i < 0:
        i = stdout.find("{")
    return json.loads(stdout[i:]) if i >= 0 else {}


def checkpoint_nodes(home: Path) -> list[str]:
    """Node names written to the LangGraph checkpoint (read-only; WAL lets us read mid-run)."""
    import sqlite3

    db = home / "checkpoints.sqlite"
    for cand in [db, *home.glob("*.sqlite"), *home.glob("*.db")]:
        if cand.exists() and cand.suffix in (".sqlite", ".db") and "checkpoint" in cand.name:
            db = cand
            break
    if not db.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        rows = con.execute("SELECT DISTINCT task_path FROM writes").fetchall() if False else []
        rows = con.execute("SELECT channel FROM writes").fetchall()
        con.close()
    except Exception:  # noqa: BLE001 - the file may be mid-creation
        return []
    return [r[0] for r in rows]


def session_files(home: Path) -> dict:
    """What exists under runs/<session>: data files and training run folders."""
    out: dict = {}
    runs = home / "runs"
    if not runs.exists():
        return out
    for s in runs.iterdir():
        if s.is_dir():
            out[s.name] = sorted(str(p.relative_to(s)) for p in s.rglob("*") if p.is_file())
    return out


# Stage detectors: each is a predicate over (home, stdout so far).
def _stdout_has(text: str):
    return lambda home, out: text in out


STAGES = {
    # intake is the first node: kill as soon as the store/session exists but before clarify ran
    "intake": lambda home, out: (home / "checkpoints.sqlite").exists() or any(home.glob("*.sqlite")),
    "generation": lambda home, out: any(
        p.name.endswith(".jsonl") for p in (home / "spool").rglob("*")) and "step done: find_model" in out
    if (home / "spool").exists() else "step done: find_model" in out,
    "training": lambda home, out: "training step" in out,
    "evaluation": _stdout_has("step done: train"),
    "export": _stdout_has("step done: decide"),
}


def run_until(cmd: list[str], env: dict, pred, home: Path, timeout: float = 300) -> tuple[bool, str]:
    """Start cmd; kill -9 it when pred(home, stdout) holds. (killed, stdout so far)."""
    import threading

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    buf: list[str] = []

    def pump():
        for line in proc.stdout:
            buf.append(line)

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    killed = False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if pred(home, "".join(buf)):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)  # polling interval, not a timing assumption
    else:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    t.join(timeout=5)
    return killed, "".join(buf)


# -- kill -9 at each stage, then resume ---------------------------------------------
def _schema_name(r: dict) -> str | None:
    return ((r["body"] or {}).get("response_format") or {}).get("json_schema", {}).get("name")


def _synth_requests(srv) -> int:
    """Generation requests (one asks for several examples: inputs of a label, or pairs)."""
    return sum(1 for r in srv.requests if _schema_name(r) in ("SyntheticInputs", "SyntheticExamples"))


def _eval_requests(srv) -> int:
    """The teacher's evaluation calls: a constrained answer (classification) or free text."""
    return sum(1 for r in srv.requests if r["body"] and not r["body"].get("tools") and (
        _schema_name(r) == "TeacherAnswer" or not r["body"].get("response_format")))


def _training_live(home: Path) -> bool:
    for prog in (home / "runs").glob("*/r*/progress.jsonl") if (home / "runs").exists() else []:
        if not (prog.parent / "result.json").exists():
            return True
    return False


# Each stage: (predicate over home, stdout so far, fake server) -> kill now.
KILL_POINTS = {
    "intake": lambda home, out, srv: any(((r["body"] or {}).get("response_format") or {})
                                         .get("json_schema", {}).get("name") == "SpecProposal"
                                         for r in srv.requests),
    "generation": lambda home, out, srv: _synth_requests(srv) >= 1,
    "training": lambda home, out, srv: _training_live(home),
    "evaluation": lambda home, out, srv: _eval_requests(srv) >= 2,
    "export": lambda home, out, srv: "step done: decide" in out,
}


def session_ids(home: Path) -> list[str]:
    import sqlite3

    db = home / "checkpoints.sqlite"
    if not db.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        rows = con.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
        con.close()
        return [r[0] for r in rows]
    except sqlite3.Error:
        return []


def kill_own_workers(home: Path) -> list[int]:
    """SIGKILL training workers this run started (their command line names a file under home)."""
    killed = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "tools.train.worker" in cmd and str(home) in cmd:
            try:
                os.kill(int(p.name), signal.SIGKILL)
                killed.append(int(p.name))
            except ProcessLookupError:
                pass
    return killed


def run_killing(cmd, env, pred, home, srv, timeout: float = 300) -> tuple[bool, str, int]:
    """Run cmd; SIGKILL it (and its training worker: a machine crash) when pred holds.

    Returns (killed, output, returncode)."""
    import threading

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    buf: list[str] = []
    t = threading.Thread(target=lambda: [buf.append(line) for line in proc.stdout], daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if pred is not None and pred(home, "".join(buf), srv):
            os.kill(proc.pid, signal.SIGKILL)
            kill_own_workers(home)
            killed = True
            break
        time.sleep(0.01)  # poll interval only
    if proc.poll() is None and not killed:  # deadline
        os.kill(proc.pid, signal.SIGKILL)
    rc = proc.wait(timeout=60)
    t.join(timeout=10)
    return killed, "".join(buf), rc


def store_rows(home: Path, sql: str, params=None) -> list[dict]:
    from tools.settings import Settings
    from tools.store import Store

    return Store(Settings(home=home)).query(sql, params or [])


def repeated_paid_calls(home: Path, session_id: str | None = None) -> int:
    """Cache keys paid for (answered, not from cache) more than once."""
    where = "WHERE NOT coalesce(cache_hit, false) AND error IS NULL"
    params = []
    if session_id:
        where += " AND session_id = ?"
        params = [session_id]
    rows = store_rows(home, f"SELECT cache_key, count(*) AS n FROM llm_calls {where} "
                            "GROUP BY 1 HAVING count(*) > 1", params)
    return sum(int(r["n"]) - 1 for r in rows)


def lost_examples(home: Path, session_id: str) -> tuple[int, int]:
    """(accepted examples on record, how many of them are missing from the session's data files)."""
    rows = store_rows(home, "SELECT DISTINCT input, output FROM examples WHERE session_id = ? "
                            "AND coalesce(accepted, true)", [session_id])
    d = home / "runs" / session_id / "data"
    have = set()
    for f in d.glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                e = json.loads(line)
                have.add((e["input"], e["output"]))
    missing = [r for r in rows if (r["input"], r["output"]) not in have]
    return len(rows), len(missing)


def kill_chain(root: Path, stages=tuple(KILL_POINTS), latency: float = 0.15) -> dict:
    """One session killed once at every stage in turn, resumed each time; then checked."""
    from tests.fakes.openai_server import FakeOpenAIServer

    cat = make_catalog(root / "catalog")
    home = root / "home"
    out: dict = {"kills": [], "stages": list(stages)}
    t0 = time.monotonic()
    with FakeOpenAIServer(responder=teacher_responder, latency=latency) as srv:
        env = p2m_env(home, srv.base_url, PYTHONUNBUFFERED=1)
        sid = None
        final = None
        for i, stage in enumerate([*stages, None]):
            pred = KILL_POINTS[stage] if stage else None
            if sid is None:
                cmd = p2m_cmd("run", "--yes", "--tiny", "--catalog", str(cat), DESC)
            else:
                cmd = p2m_cmd("sessions", "resume", sid, "--yes", "--tiny",
                              *(["--json"] if stage is None else []))
            n_before = len(srv.requests)
            killed, text, rc = run_killing(cmd, env, pred, home, srv)
            ids = session_ids(home)
            sid = sid or (ids[0] if ids else None)
            out["kills"].append({"stage": stage or "final", "killed": killed, "rc": rc,
                                 "requests": len(srv.requests) - n_before,
                                 "traceback": "Traceback" in text})
            if stage is None:
                final = parse_json_out(text) if "{" in text else {}
                out["final_output_tail"] = text[-1500:]
            if sid is None and stage is not None:  # killed before a session existed: start again
                continue
        out["session_id"] = sid
        out["final"] = final
        bodies = Counter(json.dumps(r["body"], sort_keys=True) for r in srv.requests
                         if r["body"] and not r["fault"])
        out["server_requests"] = len(srv.requests)
        out["server_repeats"] = sum(n - 1 for n in bodies.values() if n > 1)
    out["survived"] = sum(1 for k in out["kills"][:-1] if k["killed"])
    out["completed"] = bool(final and final.get("done") and not final.get("error")
                            and final.get("export_path"))
    out["repeated_paid_calls"] = repeated_paid_calls(home, sid) if sid else None
    out["accepted_on_record"], out["lost_examples"] = lost_examples(home, sid) if sid else (0, 0)
    out["seconds"] = round(time.monotonic() - t0, 1)
    out["secret_leaked"] = secret_in_tree(home) or any(
        SECRET in (out.get("final_output_tail") or "") for _ in [0])
    return out


def secret_in_tree(*roots: Path) -> list[str]:
    """Files under roots whose bytes contain the fake secret."""
    hits = []
    for root in roots:
        for p in Path(root).rglob("*"):
            if p.is_file() and p.stat().st_size < 200_000_000:
                try:
                    if SECRET.encode() in p.read_bytes():
                        hits.append(str(p))
                except OSError:
                    pass
    return hits


# -- endpoint faults at a rate ----------------------------------------------------------
FAULT_KINDS = ("429", "500", "timeout", "truncated")


def fault_rate_run(root: Path, rate: float, kinds=FAULT_KINDS, seed: int = 1) -> dict:
    """A whole `p2m run --yes --tiny --json` with faults drawn at `rate` per request."""
    from tests.fakes.openai_server import FakeOpenAIServer

    cat = make_catalog(root / "catalog")
    home = root / "home"
    t0 = time.monotonic()
    with FakeOpenAIServer(responder=teacher_responder, fault_rate=rate, fault_kinds=tuple(kinds),
                          seed=seed, retry_after=0.05, timeout_delay=2.0) as srv:
        env = p2m_env(home, srv.base_url, P2M_LLM_TIMEOUT=0.5, PYTHONUNBUFFERED=1)
        proc = subprocess.run(p2m_cmd("run", "--yes", "--tiny", "--json", "--catalog", str(cat), DESC),
                              env=env, capture_output=True, text=True, timeout=600)
        faults = {k.split(":", 1)[1]: v for k, v in srv.counts.items() if k.startswith("fault:")}
        n = srv.counts["chat"]
    out = parse_json_out(proc.stdout) if "{" in proc.stdout else {}
    text = proc.stdout + proc.stderr
    return {"rate": rate, "rc": proc.returncode, "requests": n, "faults": faults,
            "completed": bool(out.get("done") and not out.get("error") and out.get("export_path")),
            "error": out.get("error"), "message_tail": text[-600:],
            "traceback": "Traceback" in text, "secret_leaked": SECRET in text or bool(secret_in_tree(home)),
            "student": (out.get("best") or {}).get("student"),
            "teacher": (out.get("best") or {}).get("teacher"),
            "llm_errors": (store_rows(home, "SELECT count(*) AS n FROM llm_calls WHERE error IS NOT NULL")
                           [0]["n"] if (home / "p2m.duckdb").exists() else None),
            "seconds": round(time.monotonic() - t0, 1)}


def main(argv=None) -> int:
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-write", action="store_true", help="print only; don't touch RESULTS.md")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="p2m-faults-") as tmp:
        root = Path(tmp)
        chain = kill_chain(root / "kill")
        cases = [(0.1, FAULT_KINDS, 3), (0.5, FAULT_KINDS, 1), (1.0, ("500", "429"), 1)]
        with ThreadPoolExecutor(len(cases)) as ex:
            rates = list(ex.map(lambda c: fault_rate_run(root / f"rate{c[0]}", c[0], c[1], seed=c[2]),
                                cases))
    if args.json:
        print(json.dumps({"kill_chain": {k: v for k, v in chain.items() if k != "final_output_tail"},
                          "fault_rates": rates}, indent=1, default=str))
    lines = ["Command: `python -m evals.faults` (tiny catalog, fake OpenAI server as the teacher, "
             "`p2m run --yes --tiny` subprocesses; tests: `pytest tests/test_faults_kill.py "
             "tests/test_faults_endpoint.py tests/test_bad_inputs.py tests/test_load.py`).", "",
             "**kill -9 at each stage, then `p2m sessions resume ID --yes --tiny`** (one session "
             "killed at every stage in turn; the training worker is killed too, as in a machine crash):", "",
             "| kill point | killed | requests to the endpoint in that attempt | traceback |",
             "|---|---|---|---|"]
    for k in chain["kills"]:
        lines.append(f"| {k['stage']} | {'yes' if k['killed'] else 'no (ran to the end)'} | "
                     f"{k['requests']} | {'YES' if k['traceback'] else 'no'} |")
    lines += ["", f"- kill points survived: **{chain['survived']} of {len(chain['stages'])}**; "
              f"completed after the last resume: {chain['completed']}",
              f"- paid LLM calls repeated (answered, non-cache calls per cache key in `llm_calls`): "
              f"**{chain['repeated_paid_calls']}**",
              f"- requests re-sent to the endpoint: {chain['server_repeats']} of "
              f"{chain['server_requests']} (only requests in flight at a kill, never answered)",
              f"- accepted examples lost: **{chain['lost_examples']}** of {chain['accepted_on_record']} on record",
              "- training steps repeated beyond the last checkpoint: the tiny classifier trains in one "
              "step (frozen embeddings + logistic regression), so a mid-training kill re-runs that "
              "step; causal-LM resume from checkpoints is measured in the issue 5 section",
              f"- secret (OPENAI_API_KEY) found in outputs or under P2M_HOME: {bool(chain['secret_leaked'])}",
              f"- wall time of the whole chain: {chain['seconds']} s", "",
              "**Endpoint faults** (429 with Retry-After, 500, timeouts at a 0.5 s client timeout, "
              "truncated JSON bodies), drawn per request with a seeded RNG:", "",
              "| fault rate | kinds | requests | faults injected | outcome | student / teacher | traceback | s |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rates:
        outcome = "completed" if r["completed"] else f"stopped: {r['error']}"
        kinds = "429, 500, timeout, truncated" if r["rate"] < 1 else "500, 429"
        fl = ", ".join(f"{k} {v}" for k, v in sorted(r["faults"].items()))
        lines.append(f"| {r['rate']:.0%} | {kinds} | {r['requests']} | {fl} | {outcome} | "
                     f"{r['student']} / {r['teacher'] if r['teacher'] is not None else 'no score (never answered)'} | {'YES' if r['traceback'] else 'no'} | {r['seconds']} |")
    lines += ["", "- At 100% the run still completes: intake falls back to reading the text, the "
              "catalog's rows train the student, and every synthetic request fails (reported in the "
              "round's data report); the teacher, which never answered, gets no score row.",
              "- Bad inputs (`tests/test_bad_inputs.py`, 54 cases: empty/huge/binary/NUL/non-English "
              "descriptions, prompt injection in the description, a user file and a dataset card, "
              "ragged/latin-1/UTF-16/binary/empty/header-only CSVs, labels with commas and newlines, "
              "directories as files, files with no usable columns, corrupt parquet, path traversal in "
              "export names and session ids, bad SQL): no traceback, a message for the user, the fake "
              "API key never in any output, state, prompt or file under P2M_HOME.",
              "- Bugs these suites found (fixed in separate commits): user CSVs in latin-1/UTF-16 or with one "
              "ragged row, and JSONL files with one bad line, were rejected whole (tools/hub/content.py); "
              "a stratified validation split of 19 rows over 5 labels came out empty and training crashed "
              "(tools/train/data.py); `?session=../../x` in the web UI wrote outside P2M_HOME "
              "(agent/sessions.py, ui/web.py); a kill -9 of the CLI left the training worker running and a "
              "resume started a second one (the worker now dies with its parent).",
              "- Load (`tests/test_load.py`): 8 autopilot sessions at once on one P2M_HOME (6 threads "
              "+ 2 processes) through `agent.sessions.Sessions`, real retrieval and synthetic data, "
              "scripted training: all complete, every example used is on record under its session, "
              "0 rows rejected by the store's ingester."]
    publish("Faults, bad inputs and load (issue 8)", lines, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
