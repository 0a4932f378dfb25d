"""kill -9 at every stage of one session, resume each time: nothing paid twice, nothing lost.

One `p2m run --yes --tiny` against the fake OpenAI server (the teacher) and a tiny
catalog is killed with SIGKILL (with its training worker: a machine crash) at intake,
mid-generation, mid-training, mid-evaluation and at export, and resumed with
`p2m sessions resume ID --yes --tiny` after each kill. The harness is evals/faults.py.
"""

import pytest

from evals.faults import kill_chain


@pytest.mark.slow
def test_kill_at_every_stage_then_resume(tmp_path):
    r = kill_chain(tmp_path)
    kills = r["kills"]
    # every kill point was reached and the process really died by SIGKILL there
    assert [k["stage"] for k in kills] == ["intake", "generation", "training", "evaluation",
                                           "export", "final"]
    assert all(k["killed"] and k["rc"] == -9 for k in kills[:-1]), kills
    assert r["survived"] == 5
    # the last resume finished the job
    assert kills[-1]["rc"] == 0 and not kills[-1]["traceback"], r["final_output_tail"]
    assert r["completed"], r["final_output_tail"]
    assert "support_tickets" in r["final"]["best"]["eval_source"]
    # no answered LLM call was paid twice (llm_calls rows that were not cache hits, per key)
    assert r["repeated_paid_calls"] == 0
    # only requests in flight at a kill (never answered) reach the server again: at most
    # the synth concurrency (4) per kill
    assert r["server_repeats"] <= 4 * 5
    # every accepted example on record is in the session's data files
    assert r["accepted_on_record"] > 40  # retrieved + synthetic rows were recorded
    assert r["lost_examples"] == 0
    assert not r["secret_leaked"]
