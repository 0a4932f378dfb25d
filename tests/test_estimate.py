"""Honest numbers: rounds are chosen on validation rows, the estimate comes from other rows.

The real evaluate, decide and export nodes run; training is scripted (one model
path per round) and scoring is a fake keyed by (model, rows), so a round that wins
on validation but loses on the test rows shows which number is reported.
"""

from __future__ import annotations

import pytest

from agent.context import AgentContext, Sizes
from agent.data_files import SessionData
from agent.sessions import Sessions
from tests.fakes.graph_script import TICKETS, Script, intake_fake
from tools.contracts import Example, MetricValue, RunResult, SystemScore
from tools.evaluate.checks import estimate_warnings
from tools.settings import Settings

# student accuracy by (model, which rows): round 2 wins on validation, loses on the test rows
SCORES = {("/m1", "val"): 0.50, ("/m2", "val"): 0.60, ("/m1", "test"): 0.65, ("/m2", "test"): 0.55}


def fake_evaluate(spec, model_path, rows, *, run_id, **kw):
    which = "val" if rows[0]["input"].startswith("val") else "test"
    v = SCORES[(str(model_path), which)]
    return RunResult(run_id=run_id, model_path=str(model_path), base_model="b",
                     scores=[SystemScore(system="student", name="s", n=len(rows),
                                         metrics={"accuracy": MetricValue(value=v, low=v - 0.05, high=v + 0.05)})])


def test_the_reported_number_is_the_test_rows_score_of_the_model_chosen_on_validation(tmp_path, monkeypatch):
    from agent.nodes import export as export_node
    from tools.evaluate import evaluation

    monkeypatch.setattr(evaluation, "evaluate", fake_evaluate)
    monkeypatch.setattr("tools.export.export_model", lambda *a, **k: tmp_path / "exported")
    script = Script()
    over = {k: v for k, v in script.overrides().items() if k in ("find_data", "find_model")}

    def generate(state, runtime):
        data = SessionData(runtime.context.settings, state["session_id"], runtime.context.store)
        if state.get("round", 0) == 0:
            data.save_retrieved([Example(input=f"train {i}", output="billing") for i in range(10)],
                                [Example(input=f"test {i}", output="billing") for i in range(8)],
                                "the real test split of tickets (8 rows)", max_test=8)
            from agent.data_files import write_examples
            write_examples(data.validation_path, [Example(input=f"val {i}", output="billing",
                                                          split="validation") for i in range(5)])
        return {"round": state.get("round", 0) + 1,
                "eval_source": "the real test split of tickets (8 rows)"}

    def train(state, runtime):
        r = state["round"]
        return {"last_run": {"run_id": f"r{r}", "model_path": f"/m{r}"}}
    over.update(generate=generate, train=train)
    settings = Settings(home=tmp_path / "home")
    sessions = Sessions(settings, overrides=over)
    ctx = AgentContext.create(settings, chat_model=intake_fake(), autopilot=True,
                              sizes=Sizes(train_minutes=0.01))
    spec_budget = {"max_rounds": 2}
    turn = sessions.start(TICKETS, ctx, budget=spec_budget)
    assert turn.done and not turn.state.get("error"), turn.message
    assert [r["summary"]["student"] for r in turn.state["rounds"]] == [0.50, 0.60]
    assert turn.state["best"]["summary"]["round"] == 2           # chosen on validation
    est = turn.state["estimate"]
    assert est["student"] == 0.55 and est["student_ci"] == pytest.approx([0.50, 0.60])  # its test score
    assert est["eval_source"] == "the real test split of tickets (8 rows)" and est["n"] == 8
    assert "Estimate: accuracy 0.550 (95% interval 0.500-0.600) on the real test split" in turn.message
    assert export_node  # the node under test


def test_the_flag_fires_on_a_spec_eval_label_mismatch():
    labels = ["a", "b", "c", "d", "e"]
    warns = estimate_warnings(labels, ["a", "b", "c", "d", "e"] * 10, ["a", "b", "a"])
    assert warns[0] == ("The estimate covers only 2 of the task's 5 labels (none of c, d, e): it "
                        "says little about the rest.")
    assert "spread very differently" in warns[1]
    assert estimate_warnings(labels, labels * 4, labels * 2) == []


def test_an_estimate_on_the_teachers_own_rows_says_it_is_optimistic():
    from tools.evaluate.checks import SYNTHETIC_WARNING

    labels = ["a", "b"]
    synthetic = "12 held-out synthetic examples (the teacher's labels, not a real test split)"
    assert estimate_warnings(labels, labels * 4, labels * 2, synthetic) == [SYNTHETIC_WARNING]
    assert estimate_warnings([], [], ["some text"], synthetic) == [SYNTHETIC_WARNING]  # any kind
    assert estimate_warnings(labels, labels * 4, labels * 2, "the real test split of trec (500 rows)") == []


def test_the_card_says_a_synthetic_estimate_is_optimistic_and_a_real_one_is_not():
    from tools.contracts import TaskSpec
    from tools.evaluate.checks import SYNTHETIC_WARNING
    from tools.export.card import model_card

    spec = TaskSpec(instruction="Classify tickets.", kind="classification", labels=["a", "b"])
    synth = model_card("m", spec, {"format": "sequence-classification"}, None, {"synthetic:1": 40},
                       eval_source="8 held-out synthetic examples (the teacher's labels, not a real test split)")
    real = model_card("m", spec, {"format": "sequence-classification"}, None, {"retrieved:trec": 40},
                      eval_source="the real test split of trec (500 rows)")
    assert SYNTHETIC_WARNING in synth and SYNTHETIC_WARNING not in real
