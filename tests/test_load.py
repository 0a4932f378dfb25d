"""Load: 8 sessions at once through the graph API against the fake endpoint, one P2M_HOME.

Real intake/clarify/confirm/find_data/generate (catalog retrieval, synthetic data, the
LLM cache and call log, the DuckDB store written by all of them at once); find_model,
train, evaluate and export are scripted (the real ones run in tests/test_faults_kill.py).
Six sessions run in threads of this process and two in subprocesses, so the store
sees concurrent writers both ways.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from evals.faults import REPO, SECRET, make_catalog, p2m_env, secret_in_tree, teacher_responder
from tests.fakes.openai_server import FakeOpenAIServer

N = 8
N_PROCS = 2  # sessions in their own processes (the rest are threads here)
TASKS = [f"Classify customer support tickets as billing, technical or other (team {i}). "
         f"'I was charged twice' -> billing; 'The app crashes' -> technical" for i in range(N)]

DRIVER = textwrap.dedent("""
    import json, sys
    from tests.test_load import drive
    from tools.settings import Settings
    home, base_url, catalog, desc, sid = sys.argv[1:6]
    print(json.dumps(drive(Settings(home=home, openai_base_url=base_url, model="fake-model",
                                    offline=True), catalog, desc, sid)))
""")


def scripted():
    from agent.data_files import SessionData
    from tools.contracts import TaskSpec

    def find_model(state, runtime):
        return {"chosen_model": {"id": "m", "location": "/m"}}

    def train(state, runtime):
        spec = TaskSpec.model_validate(state["spec"])
        data = SessionData(runtime.context.settings, state["session_id"], runtime.context.store)
        rows = data.training_rows(spec, max(1, state.get("round", 1)))
        return {"last_run": {"run_id": state["session_id"], "model_path": "/m", "rows": len(rows)}}

    def evaluate(state, runtime):
        entry = {"summary": {"round": state.get("round", 1), "metric": "accuracy", "student": 0.9,
                             "teacher": 0.5, "base": 0.2, "eval_source": "test"},
                 "result": {"run_id": state["session_id"], "model_path": "/m", "base_model": "b"}}
        return {"rounds": [entry], "best": entry, "failures": []}

    def export(state, runtime):
        return {"export_path": f"/exports/{state['session_id']}"}
    return {"find_model": find_model, "train": train, "evaluate": evaluate, "export": export}


def drive(settings, catalog: str, desc: str, sid: str) -> dict:
    """One autopilot session through agent.sessions.Sessions; returns its outcome."""
    from agent.context import AgentContext, Sizes
    from agent.sessions import Sessions

    sessions = Sessions(settings, overrides=scripted())
    ctx = AgentContext.create(settings, autopilot=True, sizes=Sizes.tiny())
    turn = sessions.start(desc, ctx, catalogs=[catalog], session_id=sid)
    return {"session_id": sid, "done": turn.done, "error": turn.state.get("error") or None,
            "export_path": turn.state.get("export_path"), "rows": turn.state["last_run"]["rows"]
            if turn.state.get("last_run") else 0}


@pytest.mark.slow
def test_eight_concurrent_sessions(tmp_path):
    from tools.settings import Settings
    from tools.store import Store

    home = tmp_path / "home"
    catalog = str(make_catalog(tmp_path / "catalog"))
    with FakeOpenAIServer(responder=teacher_responder, latency=0.05) as srv:
        settings = Settings(home=home, openai_base_url=srv.base_url, openai_api_key=SECRET,
                            model="fake-model", offline=True)
        env = p2m_env(home, srv.base_url)
        procs = [subprocess.Popen([sys.executable, "-c", DRIVER, str(home), srv.base_url, catalog,
                                   TASKS[i], f"load{i}"], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(N - N_PROCS, N)]
        with ThreadPoolExecutor(N - N_PROCS) as ex:
            outs = list(ex.map(lambda i: drive(settings, catalog, TASKS[i], f"load{i}"), range(N - N_PROCS)))
        for p in procs:
            so, se = p.communicate(timeout=600)
            assert p.returncode == 0, se[-3000:]
            assert "Traceback" not in se, se[-3000:]
            outs.append(json.loads(so.strip().splitlines()[-1]))
        max_in_flight = srv.max_in_flight
    assert len(outs) == N
    for o in outs:  # all complete
        assert o["done"] and not o["error"] and o["export_path"] == f"/exports/{o['session_id']}", o
        assert o["rows"] > 0
    assert max_in_flight > 1  # the sessions really overlapped at the endpoint
    store = Store(settings)
    # every example a session used is on record, under that session
    for o in outs:
        sid = o["session_id"]
        recorded = {(r["input"], r["output"]) for r in store.query(
            "SELECT input, output FROM examples WHERE session_id = ?", [sid])}
        used = set()
        for f in (home / "runs" / sid / "data").glob("*.jsonl"):
            if f.name.startswith("train_"):
                continue
            for line in f.read_text(encoding="utf-8").splitlines():
                e = json.loads(line)
                used.add((e["input"], e["output"]))
        assert used and used <= recorded, (sid, len(used - recorded))
        calls = store.query("SELECT count(*) AS n FROM llm_calls WHERE session_id = ?", [sid])[0]["n"]
        assert calls > 0
    # no store errors: nothing rejected by the ingester, every session's status recorded
    assert store.query("SELECT count(*) AS n FROM _rejected")[0]["n"] == 0
    statuses = {r["id"]: r["status"] for r in store.query("SELECT id, status FROM sessions")}
    assert all(statuses.get(f"load{i}") == "done" for i in range(N)), statuses
    assert not secret_in_tree(home)
