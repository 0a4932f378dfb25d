"""Multi-process proof for the store: concurrent writers, a concurrent reader, kill -9."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

from tools.settings import Settings
from tools.store import Store

N_WRITERS, N_ROWS = 4, 1000


def _writer(home: str, worker: int, ready, midway) -> None:
    os.environ["P2M_HOME"] = home
    store = Store(Settings())
    ready.wait()
    for i in range(N_ROWS):
        if i == N_ROWS // 2:
            # Make sure an ingestion lands while every writer's file is half written.
            midway.wait(60)
        store.record("events", {"kind": "load", "session_id": f"w{worker}",
                                "payload": {"i": i}})


def _reader(home: str, ready, midway, stop, out) -> None:
    os.environ["P2M_HOME"] = home
    store = Store(Settings(), lock_timeout=30)
    store.query("SELECT 1")  # create the file before the clock starts
    ready.wait()
    seen = []
    while not stop.is_set():
        seen.append(store.query("SELECT count(*) n FROM events")[0]["n"])
        if seen[-1] >= N_WRITERS * N_ROWS // 2:
            midway.set()
    out.put(seen)


def test_four_writers_and_a_reader_lose_nothing(p2m_home):
    ctx = mp.get_context("spawn")
    ready, midway = ctx.Barrier(N_WRITERS + 2), ctx.Event()
    stop, out = ctx.Event(), ctx.Queue()
    writers = [ctx.Process(target=_writer, args=(str(p2m_home), w, ready, midway))
               for w in range(N_WRITERS)]
    reader = ctx.Process(target=_reader, args=(str(p2m_home), ready, midway, stop, out))
    for p in (*writers, reader):
        p.start()
    ready.wait(120)  # all processes started and imported: time the work, not the spawns
    t0 = time.monotonic()
    for p in writers:
        p.join(120)
        assert p.exitcode == 0
    written = time.monotonic() - t0
    stop.set()
    seen = out.get(timeout=60)
    reader.join(60)
    assert reader.exitcode == 0
    store = Store(Settings())
    (row,) = store.query("SELECT count(*) n, count(DISTINCT id) d, "
                         "count(DISTINCT (session_id, payload->>'i')) k FROM events")
    total = time.monotonic() - t0
    print(f"\n4x{N_ROWS} rows: written in {written:.2f}s, all ingested by {total:.2f}s; "
          f"reader ran {len(seen)} queries, saw {seen[:3]}...{seen[-3:]}")
    assert row == {"n": 4000, "d": 4000, "k": 4000}
    assert seen == sorted(seen)  # counts only ever grow
    assert any(0 < n < 4000 for n in seen)  # the reader ingested while writers wrote
    assert store.query("SELECT count(*) n FROM _rejected")[0]["n"] == 0


def _looping_writer(home: str, acks: str) -> None:
    os.environ["P2M_HOME"] = home
    store = Store(Settings())
    with open(acks, "a") as f:
        i = 0
        while True:  # until SIGKILL
            rid = store.record("events", {"kind": "loop", "payload": {"pad": "x" * 500, "i": i}})
            f.write(rid + "\n")
            f.flush()
            i += 1


def test_kill_9_mid_write_keeps_every_returned_row(p2m_home, tmp_path):
    acks = tmp_path / "acks.txt"
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_looping_writer, args=(str(p2m_home), str(acks)))
    p.start()
    deadline = time.monotonic() + 60
    while (not acks.exists() or acks.read_text().count("\n") < 300) and time.monotonic() < deadline:
        time.sleep(0.01)  # wait for progress, not for a duration
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    assert p.exitcode == -signal.SIGKILL
    acked = {line for line in acks.read_text().splitlines() if len(line) == 32}
    assert len(acked) >= 300
    store = Store(Settings())
    # Tear the dead writer's last line, as a kill inside write() could.
    (spool,) = store.spool_dir.glob("*.jsonl")
    with open(spool, "ab") as f:
        f.write(b'{"t":"events","r":{"id":"torn","kind":"lo')
    stored = {r["id"] for r in store.query("SELECT id FROM events")}
    assert acked <= stored and "torn" not in stored
    assert store.query("SELECT count(*) n FROM _rejected WHERE reason LIKE 'torn%'") == [{"n": 1}]
    assert not spool.exists()  # dead writer's file fully ingested, then removed


def _spec_saver(home: str, ready, out) -> None:
    os.environ["P2M_HOME"] = home
    store = Store(Settings(), lock_timeout=60)
    ready.wait()
    out.put([store.save_spec("s1", {"by": os.getpid(), "n": n}) for n in range(5)])


def test_save_spec_versions_are_unique_across_processes(p2m_home):
    ctx = mp.get_context("spawn")
    ready, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_spec_saver, args=(str(p2m_home), ready, out)) for _ in range(2)]
    for p in procs:
        p.start()
    versions = out.get(timeout=120) + out.get(timeout=120)
    for p in procs:
        p.join(60)
    assert sorted(versions) == list(range(1, 11))
    rows = Store(Settings()).query("SELECT version FROM task_specs WHERE session_id = 's1'")
    assert sorted(r["version"] for r in rows) == list(range(1, 11))


def test_threads_in_one_process_record_and_query_together():
    import threading

    store = Store(Settings(), lock_timeout=30)
    errors, counts = [], []

    def write(k: int) -> None:
        try:
            for i in range(200):
                store.record("events", {"kind": f"t{k}", "payload": {"i": i}})
        except Exception as e:  # surfaced by the assert below
            errors.append(e)

    def read() -> None:
        try:
            for _ in range(5):
                counts.append(store.query_readonly("SELECT count(*) n FROM events")[0]["n"])
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    threads += [threading.Thread(target=read), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(counts) == 10
    assert store.query("SELECT count(DISTINCT id) n FROM events") == [{"n": 800}]


def _record_one(home: str, kind: str) -> None:
    os.environ["P2M_HOME"] = home
    Store(Settings()).record("events", {"kind": kind})


def test_forked_child_writes_its_own_spool_file(p2m_home):
    store = Store(Settings())
    store.record("events", {"kind": "parent"})
    p = mp.get_context("fork").Process(target=_record_one, args=(str(p2m_home), "child"))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert len(list(store.spool_dir.glob("*.jsonl"))) == 2  # not the parent's file
    kinds = sorted(r["kind"] for r in store.query("SELECT kind FROM events"))
    assert kinds == ["child", "parent"]
