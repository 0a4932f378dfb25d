"""Training as a subprocess job: streamed events, kill -9 then resume, accelerate."""

from __future__ import annotations

import json
import time

import pytest

from tests.fixtures_models import cls_rows, text_rows, tiny_bert, tiny_llama
from tools.train import TrainConfig, TrainJob, run_training, write_rows


def config(tmp_path, base, rows, kind="classification", **kw) -> TrainConfig:
    write_rows(tmp_path / "train.jsonl", rows)
    opts = dict(batch_size=8, learning_rate=5e-3, early_stopping_patience=1000, record_to_store=False)
    opts.update(kw)
    return TrainConfig(run_id="job", run_dir=str(tmp_path / "run"), kind=kind, base_model=str(base),
                       train_path=str(tmp_path / "train.jsonl"), instruction="Echo the first word.",
                       method="encoder_finetune" if kind == "classification" else "causal_full", **opts)


def test_job_streams_events_and_returns_result(tmp_path):
    cfg = config(tmp_path, tiny_bert(tmp_path / "bert"), cls_rows(), epochs=2)
    seen = []
    res = run_training(cfg, on_event=seen.append)
    assert res["status"] == "completed", res.get("error")
    assert seen[0]["event"] == "start" and seen[-1]["event"] == "done"
    assert any(e["event"] == "step" and "loss" in e for e in seen)


def test_job_failure_surfaces_the_message(tmp_path):
    cfg = config(tmp_path, tiny_bert(tmp_path / "bert"), [])
    job = TrainJob(cfg).start()
    res = job.result()
    assert job.proc.returncode == 2 and "empty" in res["error"]


def test_worker_killed_from_outside_says_so_not_a_progress_bar(tmp_path):
    import os
    import signal

    cfg = config(tmp_path, tiny_bert(tmp_path / "bert"), cls_rows(), epochs=2)
    job = TrainJob(cfg).start()
    cfg.path("worker.log").write_text("Loading weights: 100%|##########| 272/272 [00:00<00:00]\r"
                                      "Writing shards:  40%|####      | 2/5 [00:01<00:02]\n")
    os.kill(job.pid, signal.SIGKILL)  # what the kernel's OOM killer does
    res = job.result()
    assert res["status"] == "failed" and "killed by SIGKILL" in res["error"]
    assert "ran out of memory" in res["error"] and "resumes from its last checkpoint" in res["error"]
    assert "272/272" not in res["error"] and "2/5" not in res["error"]


@pytest.mark.slow
def test_kill_9_then_resume_continues_with_same_data_order(tmp_path):
    base = tiny_llama(tmp_path / "llama")
    rows = text_rows(200)
    common = dict(kind="generation", max_steps=150, eval_steps=10, save_total_limit=2,
                  learning_rate=1e-3, epochs=100)
    # Reference: the same run, uninterrupted.
    ref = config(tmp_path / "ref", base, rows, **common)
    assert run_training(ref)["status"] == "completed"
    ref_loss = {e["step"]: e["loss"] for e in map(json.loads, ref.progress_path.read_text().splitlines())
                if e["event"] == "step"}

    cfg = config(tmp_path / "crash", base, rows, **common)
    job = TrainJob(cfg).start()
    deadline = time.monotonic() + 120
    while not any(cfg.checkpoints_dir.glob("checkpoint-*/trainer_state.json")):
        assert job.running() and time.monotonic() < deadline, job.log_tail()
        time.sleep(0.02)
    job.kill()  # SIGKILL, mid-training
    assert not cfg.result_path.exists()

    res = run_training(cfg)  # same config: resumes from the last checkpoint
    assert res["status"] == "completed" and res["global_step"] == 150
    evs = [json.loads(l) for l in cfg.progress_path.read_text().splitlines()]
    starts = [e for e in evs if e["event"] == "start"]
    assert len(starts) == 2 and starts[1]["resumed_from_step"] >= 10
    resumed = starts[1]["resumed_from_step"]
    after = {e["step"]: e["loss"] for e in evs[evs.index(starts[1]):] if e["event"] == "step"}
    common_steps = [s for s in after if s in ref_loss and s > resumed]
    assert len(common_steps) >= 5
    for s in common_steps:  # same data order and RNG state: the same losses
        assert after[s] == pytest.approx(ref_loss[s], rel=1e-3, abs=1e-4)


@pytest.mark.slow
def test_same_worker_runs_under_accelerate_with_two_cpu_processes(tmp_path):
    cfg = config(tmp_path, tiny_bert(tmp_path / "bert"), cls_rows(), epochs=3)
    job = TrainJob(cfg, processes=2).start()
    res = job.result()
    assert res["status"] == "completed", job.log_tail(40)
    assert "--multi_gpu" in job.command(cfg.path("run.json"))
    starts = [l for l in cfg.progress_path.read_text().splitlines() if '"start"' in l]
    assert len(starts) == 1  # only the main process writes progress
    # 54 train rows, batch 8 per process, 2 processes -> 4 steps per epoch, 12 in all.
    assert res["global_step"] == 12


def test_worker_dies_with_the_process_that_started_it():
    """A killed CLI must not leave its training worker running beside the resumed one."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("import subprocess, sys, time\n"
            "from tools.train.job import _die_with_parent\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
            " preexec_fn=_die_with_parent, start_new_session=True)\n"
            "print(p.pid, flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the worker outlived the process that started it")
