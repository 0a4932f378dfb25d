"""decide: export or loop back after a round, with the reason, always within the budget."""

import time

from agent.nodes.decide import choose, target_for
from tools.contracts import Budget, TaskSpec


def _state(*students, teacher=0.5, decisions=()):
    return {"rounds": [{"summary": {"student": s, "teacher": teacher}} for s in students],
            "decisions": list(decisions), "started_at": None, "failures": []}


def test_decide_exports_when_the_target_is_met_and_loops_otherwise():
    spec = TaskSpec(instruction="x", kind="classification", labels=["a", "b"])
    assert choose(spec, _state(0.9), 0, True)[0] == "export"
    assert choose(spec, _state(0.6), 0, True)[0] == "generate"  # floor 0.7 not reached
    spec.target = 0.95
    assert choose(spec, _state(0.9), 0, True)[0] == "generate"


def test_decide_trains_longer_when_more_data_did_not_help():
    spec = TaskSpec(instruction="x", kind="classification", labels=["a", "b"])
    st = _state(0.5, 0.505, decisions=[{"action": "generate"}])
    assert choose(spec, st, 0, True)[0] == "train"


def test_decide_stops_on_calls_budget():
    spec = TaskSpec(instruction="x", kind="classification", labels=["a", "b"],
                    budget=Budget(max_llm_calls=10))
    action, reason = choose(spec, _state(0.1), 10, True)
    assert action == "export" and "10 of 10 LLM calls" in reason


def test_target_is_the_users_else_beat_the_teacher_and_the_floor():
    spec = TaskSpec(instruction="x", kind="generation")
    assert target_for(spec, None) == 0.30 and target_for(spec, 0.42) == 0.42
    spec.target = 0.2
    assert target_for(spec, 0.9) == 0.2


def test_a_loop_back_that_cannot_finish_in_time_is_not_started():
    spec = TaskSpec(instruction="x", kind="classification", labels=["a", "b"],
                    budget=Budget(max_minutes=10.0))
    st = {**_state(0.1), "started_at": time.time() - 7 * 60}
    assert choose(spec, st, 0, True, min_round_minutes=2)[0] == "generate"
    action, reason = choose(spec, st, 0, True, min_round_minutes=5)
    assert action == "export" and "too few for another round" in reason


def test_errors_clustered_on_two_labels_ask_the_user_unless_on_autopilot():
    spec = TaskSpec(instruction="x", kind="classification", labels=["a", "b"])
    st = {**_state(0.3), "failures": [{"name": "a -> b", "count": 7}, {"name": "b -> a", "count": 1}]}
    action, reason = choose(spec, st, 0, False)
    assert action == "clarify" and "7 of 8 errors are 'a -> b'" in reason
    assert choose(spec, st, 0, True)[0] == "generate"
