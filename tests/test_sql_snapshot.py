"""A slow `p2m sql` query runs on a snapshot: writers and the agent's budget check go on meanwhile."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

from agent.budget import spent
from evals.faults import REPO, p2m_env
from tools.settings import Settings
from tools.store import Store


def lock_held(path) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_slow_sql_query_does_not_block_the_store(p2m_home):
    store = Store(Settings(home=p2m_home), lock_timeout=2)
    store.record("llm_calls", {"session_id": "s1", "purpose": "x", "prompt_tokens": 3, "completion_tokens": 4})
    store.ingest()
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "sql", "--timeout", "8",
                             "SELECT sum(hash(range)) FROM range(1000000000000)"],
                            cwd=REPO, env=p2m_env(p2m_home, None), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # the query is under way: its snapshot exists (after the fix) or it holds the lock (before)
        deadline = time.monotonic() + 60
        while not (list(p2m_home.glob(".sql-snapshot-*")) or lock_held(store.lock_path)):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        done = 0
        while proc.poll() is None:  # every write and budget check while the query runs succeeds
            store.record("llm_calls", {"session_id": "s1", "purpose": "y"})
            assert spent(store, "s1", None)["llm_calls"] == done + 2
            done += 1
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert done >= 3, done
    assert proc.returncode == 2 and "ran longer than 8 s" in err, err[-1000:]
    assert not list(p2m_home.glob(".sql-snapshot-*"))  # the copy is gone
