"""Training as a job: a subprocess you can watch, kill and resume.

    job = TrainJob(cfg).start()
    for event in job.events():      # dicts from progress.jsonl as they are written
        print(event["step"], event.get("loss"), event.get("eta_s"))
    result = job.result()           # result.json of the worker

A killed job (even kill -9) resumes from its last checkpoint when started again
with the same config: the worker calls `trainer.train(resume_from_checkpoint=...)`
and the fixed seed gives the same data order.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tools.train.config import TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
_PROGRESS_BAR = re.compile(r"\d+%\|.*\|\s*\d+/\d+")  # tqdm: " 40%|####      | 2/5 [...]"


def _die_with_parent() -> None:
    """In the worker, before exec: SIGKILL it when the process that started it dies.

    Without this a killed CLI or UI leaves its worker training, and the resumed
    session would start a second worker on the same run folder. Resuming from
    the last checkpoint is what picks the work up again. Linux only; a no-op elsewhere.
    """
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class TrainJob:
    """One worker subprocess for one TrainConfig."""

    def __init__(self, cfg: TrainConfig, processes: int = 1):
        self.cfg = cfg
        self.processes = processes
        self.proc: subprocess.Popen | None = None
        self._offset = 0

    def command(self, config_path: Path) -> list[str]:
        """The worker command line (through accelerate launch for several processes)."""
        if self.processes > 1:
            # `--multi_gpu` is accelerate's torchrun launcher; without CUDA it runs DDP over
            # gloo on CPU processes. (`--cpu` with several processes expects MPI and
            # silently runs one process here.)
            return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                    "--num_processes", str(self.processes), "--num_machines", "1",
                    "--mixed_precision", "no", "--dynamo_backend", "no",
                    "-m", "tools.train.worker", "--config", str(config_path)]
        return [sys.executable, "-m", "tools.train.worker", "--config", str(config_path)]

    def start(self) -> TrainJob:
        """Write run.json and launch the worker; returns self."""
        path = self.cfg.save()
        prog = self.cfg.progress_path
        self._offset = prog.stat().st_size if prog.exists() else 0
        self.cfg.result_path.unlink(missing_ok=True)
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "TOKENIZERS_PARALLELISM": "false",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
        log = open(self.cfg.path("worker.log"), "ab")
        self.proc = subprocess.Popen(self.command(path), cwd=REPO_ROOT, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        log.close()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def events(self, poll_s: float = 0.5) -> Iterator[dict]:
        """Progress events written since start(), until the worker exits."""
        path = self.cfg.progress_path
        while True:
            alive = self.running()
            if path.exists():
                with path.open("r", encoding="utf-8") as f:
                    f.seek(self._offset)
                    while True:
                        line = f.readline()
                        if not line.endswith("\n"):
                            break  # a partial line: read it whole next time
                        self._offset += len(line.encode("utf-8"))
                        if line.strip():
                            yield json.loads(line)
            if not alive:
                return
            time.sleep(poll_s)

    def wait(self, timeout: float | None = None) -> int:
        """Block until the worker exits; returns its exit code."""
        if self.proc is None:
            raise RuntimeError("the job was not started")
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the worker (and accelerate's children): simulates a crash."""
        if self.running():
            os.killpg(self.proc.pid, 9)
            self.proc.wait()

    def result(self) -> dict:
        """The worker's result.json (waits for exit first)."""
        code = self.wait()
        try:
            return json.loads(self.cfg.result_path.read_text())
        except FileNotFoundError:
            return {"run_id": self.cfg.run_id, "status": "failed", "model_path": None,
                    "error": self._death_message(code)}

    def _death_message(self, code: int) -> str:
        if code < 0:  # killed by a signal: on Linux a SIGKILL nobody asked for is the OOM killer
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = (" (most often the system ran out of memory: lower batch_size or max_length, or "
                   "pick a smaller base model)") if code == -signal.SIGKILL else ""
            return (f"the training process was killed by {name}{why}. Starting the same run again "
                    f"resumes from its last checkpoint. Log tail:\n{self.log_tail(8)}")
        return f"worker exited with code {code} and wrote no result; log tail:\n{self.log_tail()}"

    def log_tail(self, n: int = 20) -> str:
        """The worker log's last n lines, without progress-bar redraws."""
        p = self.cfg.path("worker.log")
        if not p.exists():
            return ""
        lines = [ln for ln in re.split(r"[\r\n]+", p.read_text(errors="replace"))
                 if ln.strip() and not _PROGRESS_BAR.search(ln)]
        return "\n".join(lines[-n:])


def run_training(cfg: TrainConfig, on_event: Callable[[dict], None] | None = None,
                 processes: int = 1) -> dict:
    """Start a job, pass every progress event to on_event, return the result."""
    job = TrainJob(cfg, processes=processes).start()
    for ev in job.events():
        if on_event:
            on_event(ev)
    return job.result()
