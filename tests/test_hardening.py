"""Issue 17's load and fault runs, small: the harness is evals/hardening.py and evals/web_load.py.

- 8 gradio_client clients at once on the web chat (in-process here, with the data plane
  after retrieval and generation scripted; `python -m evals.hardening` runs a real
  `p2m web --tiny` end to end);
- a training worker killed mid-epoch resumes from its checkpoint, repeating only the
  steps since it;
- the disk filling during export leaves no export and a clear error.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from evals import hardening as H
from evals import web_load as W
from evals.faults import SECRET, secret_in_tree, teacher_responder
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_load import scripted


@pytest.mark.slow
def test_eight_web_clients_at_once(tmp_path):
    import os

    from agent.context import Sizes
    from tools.settings import Settings
    from ui.web import launch

    home = tmp_path / "home"
    with FakeOpenAIServer(responder=teacher_responder, latency=0.05) as srv:
        settings = Settings(home=home, openai_base_url=srv.base_url, openai_api_key=SECRET,
                            model="fake-model", offline=True)
        port = W.free_port()
        demo = launch("127.0.0.1", port, settings=settings, sizes=Sizes.tiny(), overrides=scripted(),
                      block=False)
        try:
            with W.MemorySampler(os.getpid()) as mem, ThreadPoolExecutor(8) as pool:
                outs = list(pool.map(lambda d: W.drive_web_session(f"http://127.0.0.1:{port}/", d),
                                     W.descriptions(8)))
        finally:
            demo.close()
        assert srv.max_in_flight > 1  # the sessions overlapped at the teacher
    assert all(o["done"] for o in outs), outs
    assert len({o["session_id"] for o in outs}) == 8
    rec = W.check_records(home, outs)
    assert rec["examples_missing"] == 0 and rec["rejected_rows"] == 0
    assert rec["statuses"] == ["done"] * 8 and all(n > 0 for n in rec["llm_calls"].values())
    assert mem.peak_mb < 6000  # bounded: one process serving 8 sessions
    assert not secret_in_tree(home)


@pytest.mark.slow
def test_training_worker_killed_mid_epoch_resumes_from_its_checkpoint(tmp_path):
    r = H.train_resume(tmp_path, max_steps=24)
    assert r["status"] == "completed" and r["global_step"] == 24 and r["attempts"] == 2
    assert r["resumed_from_step"] >= 8 and r["killed_at_step"] < r["steps_per_epoch"]  # mid-epoch
    # only the steps since the last checkpoint are done again (a checkpoint every 4 steps)
    assert 0 < r["repeated_steps"] == r["killed_at_step"] - r["resumed_from_step"] <= 4 + 2
    assert r["losses_compared"] >= 10 and r["losses_equal"] == r["losses_compared"]


@pytest.mark.slow
def test_disk_full_during_export_leaves_no_export_and_says_so(tmp_path):
    r = H.export_disk_full(tmp_path)
    for case in r["cases"]:
        assert case["fault_hit"] and case["error"] == "export_failed" and not case["export_path"]
        assert "No space left on device" in case["message"] and "p2m-diskfull" in case["message"]
        assert case["left_in_exports"] == []  # no half-written folder, no .partial left behind
    after = r["after_space_freed"]
    assert after["error"] is None and after["complete"] and after["left_in_exports"] == ["p2m-diskfull"]
