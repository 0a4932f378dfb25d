"""Endpoint faults (429, 5xx, timeouts, truncated JSON) at 10%, 50% and 100% of requests.

Whole `p2m run --yes --tiny` runs against the fake OpenAI server: each completes, or
stops with a clear message; never a traceback, never the API key in any output or file.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from evals.faults import fault_rate_run

CASES = [(0.1, ("429", "500", "timeout", "truncated"), 3),
         (0.5, ("429", "500", "timeout", "truncated"), 1),
         (1.0, ("500", "429"), 1)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faultrates")
    with ThreadPoolExecutor(len(CASES)) as ex:  # independent homes and servers
        return list(ex.map(lambda c: fault_rate_run(root / str(c[0]), c[0], c[1], seed=c[2]), CASES))


@pytest.mark.slow
@pytest.mark.parametrize("i", [0, 1])
def test_partial_fault_rates_complete(runs, i):
    r = runs[i]
    assert sum(r["faults"].values()) >= 1, r  # faults were really injected
    assert not r["traceback"], r["message_tail"]
    assert r["rc"] == 0 and r["completed"], r["message_tail"]
    assert r["student"] is not None and r["teacher"] is not None
    assert not r["secret_leaked"]


@pytest.mark.slow
def test_half_the_requests_failing_exercises_every_fault_kind(runs):
    assert set(runs[1]["faults"]) == {"429", "500", "timeout", "truncated"}


@pytest.mark.slow
def test_total_outage_completes_or_stops_with_a_clear_message(runs):
    r = runs[2]
    assert r["faults"] and r["requests"] == sum(r["faults"].values())  # every request failed
    assert not r["traceback"], r["message_tail"]
    assert not r["secret_leaked"]
    if not r["completed"]:
        assert r["rc"] != 0 and r["error"], r["message_tail"]
