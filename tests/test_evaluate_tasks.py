"""evals.tasks --source retrieved, end to end on a small task folder (real MiniLM)."""

from __future__ import annotations

import json

import pytest

from evals import tasks


@pytest.mark.slow
def test_retrieved_source_trains_and_reports_rows(tmp_path, monkeypatch):
    folder = tmp_path / "mini"
    folder.mkdir()
    pos = ["I love this film", "what a great movie", "wonderful acting", "a joy to watch", "brilliant story"]
    neg = ["I hate this film", "what an awful movie", "terrible acting", "a pain to watch", "boring story"]
    train = [{"input": f"{t} {i}", "output": lab} for i in range(4) for ts, lab in ((pos, "good"), (neg, "bad"))
             for t in ts]
    test = [{"input": t, "output": lab} for ts, lab in ((pos, "good"), (neg, "bad")) for t in ts]
    (folder / "train.jsonl").write_text("\n".join(json.dumps(r) for r in train))
    (folder / "test.jsonl").write_text("\n".join(json.dumps(r) for r in test))
    (folder / "labels.json").write_text(json.dumps({"labels": ["bad", "good"]}))
    monkeypatch.setitem(tasks.TASKS, "mini", tasks.TaskDef("mini", "classification", "Is the review good or bad?",
                                                           "accuracy", 0.8, minutes=2))
    out = tasks.run_retrieved("mini", data=tmp_path, teacher=False)
    assert out["method"] == "frozen_lr" and out["n_test"] == 10
    assert [r["system"] for r in out["rows"]] == ["student", "base"]
    assert out["rows"][0]["metrics"]["accuracy"]["value"] >= 0.8 and out["target"]["met"]
    assert "teacher skipped" in out["notes"][0]


def test_missing_task_data_is_a_clear_message(tmp_path):
    with pytest.raises(SystemExit, match="not found"):
        tasks.run_retrieved("trec", data=tmp_path, teacher=False)
