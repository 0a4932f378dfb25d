"""kill -9 in the middle of a round, then re-run: no paid call repeated, nothing lost.

A child process generates against FakeOpenAIServer (in this process, so its
request log spans both runs). The server answers the first M requests and holds
the rest; once the M replies are in the child's cache the child is killed with
SIGKILL, and the round is run again to the end.
"""

from __future__ import annotations

from evals.synth_throughput import kill_restart


def test_kill_mid_round_then_rerun_repeats_no_paid_call_and_loses_nothing():
    # requests of 3 items, each with k=1 answer: 4 calls per request, 36 replies = 9 requests
    r = kill_restart(n=60, concurrency=4, k=1, items=3, answer_first=36, timeout=90)
    assert r["answered_before_kill"] == 36
    assert r["accepted_stored_before_kill"] >= 1  # stored as it went, before the kill
    assert r["duplicate_paid_calls"] == 0
    assert r["cache_hits_after_restart"] >= 36  # the answered calls came back from the cache
    assert r["accepted_lost"] == 0
    assert r["accepted_final"] >= 60
    assert r["example_rows"] == r["accepted_final"]  # re-recorded rows were not duplicated
