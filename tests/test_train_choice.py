"""Method choice by measurement, budget planning, and the classifier's bad-input cases."""

from __future__ import annotations

import json

import pytest

from tests.fixtures_models import WORDS, cls_rows, tiny_bert, train_tiny
from tools.train.budget import affordable_rows, plan_steps
from tools.train.data import DataError, check_classification
from tools.train.tokens import TokenCache, p95_length


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("bert"))


def test_auto_fits_the_cheap_candidate_first_then_finetunes_and_keeps_the_winner(tmp_path, bert):
    res = train_tiny(tmp_path, "auto", bert, cls_rows(160), epochs=4, time_budget_minutes=5.0)
    assert res["status"] == "completed", res["error"]
    methods = [c["method"] for c in res["candidates"]]
    assert methods == ["frozen_lr", "encoder_finetune"]
    scores = {c["method"]: c["validation"]["accuracy"] for c in res["candidates"]}
    assert res["method"] == max(scores, key=lambda m: (scores[m], m == "frozen_lr"))
    assert res["choice"].startswith(f"kept {res['method']}: validation accuracy")
    meta = json.loads((tmp_path / "run/model/p2m_model.json").read_text())
    assert meta["training"]["method"] == res["method"] and meta["training"]["choice"] == res["choice"]
    assert (tmp_path / "run/candidates/frozen_lr/head.safetensors").exists()


def test_auto_on_tiny_data_keeps_the_linear_probe_and_says_why(tmp_path, bert):
    res = train_tiny(tmp_path, "auto", bert, cls_rows(40), time_budget_minutes=5.0)
    assert res["status"] == "completed" and res["method"] == "frozen_lr"
    assert "fine-tune not tried" in res["choice"] and "too few" in res["choice"]


def test_a_budget_too_short_for_the_cheap_candidate_trains_and_exports_nothing(tmp_path, bert):
    res = train_tiny(tmp_path, "auto", bert, cls_rows(160), time_budget_minutes=0.0001)
    assert res["status"] == "failed" and res["error_kind"] == "budget"
    assert "too short for even the cheap model" in res["error"] and "min" in res["error"]
    assert res["model_path"] is None and not (tmp_path / "run/model").exists()


def test_schedule_is_planned_to_end_inside_the_budget():
    p = plan_steps(60.0, s_per_row=0.01, n_train=10_000, batch_size=32, epochs=3)
    assert p["budget_bound"] and p["steps"] * 32 * 0.01 <= 60.0 and p["epochs"] < 1
    free = plan_steps(None, 0.01, 1000, 32, 3)
    assert not free["budget_bound"] and free["steps"] == 3 * 32
    assert affordable_rows(10.0) >= 60_000 and affordable_rows(0.01) == 1000


def test_label_with_one_row_is_dropped_and_reported():
    rows = cls_rows(20) + [{"input": "how many people", "output": "NUM"}]
    labels, report, kept = check_classification(rows, ["HUM", "LOC", "NUM"])
    assert len(kept) == 20 and report["labels_dropped_too_few_rows"] == {"NUM": 1}
    assert "NUM" in report["notes"][0] and "NUM" in report["labels_without_examples"]


def test_one_label_left_after_dropping_is_refused_clearly():
    rows = [{"input": f"where is {w}", "output": "LOC"} for w in WORDS[:10]] + [{"input": "who", "output": "HUM"}]
    with pytest.raises(DataError, match="only one label.*'LOC'.*under 2 rows.*HUM"):
        check_classification(rows, [])


def test_max_length_from_the_data_and_long_inputs_counted(bert):
    from transformers import AutoTokenizer

    cache = TokenCache(AutoTokenizer.from_pretrained(bert), hard_cap=64)
    texts = ["who is the person"] * 19 + ["the city of the river " * 30]
    n = p95_length(cache.lengths(texts), cap=64)
    assert n == 16  # short rows: the floor, not the cap
    assert cache.truncated(texts, n) == 1
    row = cache.encode(texts[-1:], n)[0]["input_ids"]
    assert len(row) == n and row[-1] == cache.ids(texts[-1:])[0][-1]  # [SEP] kept


def test_long_inputs_are_reported_in_the_training_notes(tmp_path, bert):
    rows = cls_rows(40) + [{"input": "where is the capital city " * 40, "output": "LOC"}] * 3
    res = train_tiny(tmp_path, "frozen_lr", bert, rows)
    assert res["inputs_truncated"] >= 3
    meta = json.loads((tmp_path / "run/model/p2m_model.json").read_text())
    assert any("truncated" in n for n in meta["training"]["notes"])


def test_replan_moves_the_schedule_end_to_what_the_budget_pays(monkeypatch):
    import torch
    from transformers import TrainerControl, TrainerState, get_linear_schedule_with_warmup

    from tools.train import callbacks

    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_linear_schedule_with_warmup(opt, 0, 1000)
    cb = callbacks.ReplanCallback(budget_s=100.0, want_steps=1000, every=10)
    state = TrainerState(max_steps=1000, global_step=0)
    cb.on_train_begin(None, state, TrainerControl())
    state.global_step, clock[0] = 20, 10.0  # 0.5 s per step: the budget pays for about 194 steps
    cb.on_step_end(None, state, TrainerControl(), lr_scheduler=sched)
    assert 180 <= state.max_steps <= 200 and cb.changes
    assert sched.lr_lambdas[0](state.max_steps) == 0.0 and sched.lr_lambdas[0](20) > 0.8
    state.global_step, clock[0] = 200, 12.0  # much faster now: grows again, never past what epochs ask
    cb.on_step_end(None, state, TrainerControl(), lr_scheduler=sched)
    assert state.max_steps == 1000


def test_early_stopping_ignores_the_first_half_of_the_schedule_then_counts_patience():
    from types import SimpleNamespace

    from transformers import TrainerControl, TrainerState

    from tools.train.callbacks import PatientEarlyStopping

    args = SimpleNamespace(metric_for_best_model="f1", greater_is_better=True, load_best_model_at_end=True,
                           eval_strategy="steps", save_strategy="steps")
    cb = PatientEarlyStopping(early_stopping_patience=2)
    state = TrainerState(max_steps=100, num_train_epochs=1, global_step=0)
    control = TrainerControl()
    for step in (10, 20, 30, 40):  # flat, near-zero F1 of a fresh head: not counted yet
        state.global_step, state.best_metric = step, 0.05
        cb.on_evaluate(args, state, control, {"eval_f1": 0.05})
    assert not control.should_training_stop and cb.early_stopping_patience_counter == 0
    for step in (50, 60, 70):  # from half the schedule on, no gain for 2 evaluations ends it
        state.global_step = step
        cb.on_evaluate(args, state, control, {"eval_f1": 0.05})
    assert control.should_training_stop
