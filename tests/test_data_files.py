"""SessionData: the session's file layout, its hold-out rules, and how its rows are recorded."""

from __future__ import annotations

import json

import pytest

from agent.data_files import SessionData
from tools.contracts import Demonstration, Example, TaskSpec
from tools.settings import Settings
from tools.store import Store, example_row


@pytest.fixture
def data(tmp_path):
    settings = Settings(home=tmp_path / "home").ensure_dirs()
    return SessionData(settings, "s1", Store(settings))


def rows(n, prefix="x", output="a"):
    return [Example(input=f"{prefix}{i}", output=output, source="retrieved:d@default/train/%d" % i)
            for i in range(n)]


def test_layout_is_one_folder_per_session(data, tmp_path):
    assert data.dir == tmp_path / "home" / "runs" / "s1" / "data"
    assert [p.name for p in (data.test_path, data.retrieved_path, data.synth_path(2),
                             data.train_path(3))] == ["test.jsonl", "retrieved.jsonl",
                                                      "synth_r2.jsonl", "train_r3.jsonl"]


def test_without_a_real_test_split_a_fifth_of_the_retrieved_rows_is_held_out(data):
    train, test, source = data.save_retrieved(rows(20), [], "", max_test=300)
    assert len(train) == 16 and [e.input for e in test] == ["x16", "x17", "x18", "x19"]
    assert source == "4 held-out rows of the retrieved data"
    assert [e.split for e in data.test()] == ["test"] * 4 and len(data.retrieved()) == 16
    _, test, source = data.save_retrieved(rows(20), [], "", max_test=2)
    assert len(test) == 2 and source.startswith("2 held-out")  # capped at the evaluation size


def test_a_real_test_split_is_kept_and_everything_is_recorded_as_round_0(data):
    real = rows(3, prefix="t")
    train, test, source = data.save_retrieved(rows(5), real, "the real test split of d", 300)
    assert len(train) == 5 and [e.input for e in test] == ["t0", "t1", "t2"]
    assert source == "the real test split of d"
    got = data.store.query("SELECT split, round, count(*) AS n FROM examples "
                           "WHERE session_id = 's1' GROUP BY 1, 2 ORDER BY 1")
    assert got == [{"split": "test", "round": 0, "n": 3}, {"split": "train", "round": 0, "n": 5}]


def test_round_one_synthetic_data_gives_the_test_split_only_when_there_is_none(data):
    kept, source = data.save_synthetic(1, rows(10, prefix="s"))
    assert len(kept) == 8 and source == "2 held-out synthetic examples (the teacher's labels, not a real test split)"
    assert [e.input for e in data.test()] == ["s8", "s9"]
    kept, source = data.save_synthetic(2, rows(10, prefix="u"))  # later rounds never hold out
    assert len(kept) == 10 and source == ""
    assert [e.input for e in data.synthetic(range(1, 3))][-1] == "u9"


def test_synthetic_data_is_not_held_out_when_a_test_split_exists_or_too_little(data, tmp_path):
    data.save_retrieved(rows(2), rows(1, prefix="t"), "real", 300)
    assert data.save_synthetic(1, rows(10)) == (rows(10), "")
    other = SessionData(Settings(home=tmp_path / "home"), "s2", data.store)
    assert other.save_synthetic(1, rows(4))[1] == ""  # fewer than 5: nothing held out


def test_training_rows_are_demos_retrieved_and_synthetic_up_to_the_round_with_known_labels(data):
    spec = TaskSpec(instruction="x", kind="classification", labels=["a", "b"],
                    demonstrations=[Demonstration(input="demo", output="b")])
    data.save_retrieved(rows(2, prefix="r") + rows(1, prefix="bad", output="zzz"),
                        rows(1, prefix="t"), "real", 300)
    data.save_synthetic(1, rows(2, prefix="s"))
    data.save_synthetic(2, rows(1, prefix="later"))
    got = data.training_rows(spec, 1)
    assert [e.input for e in got] == ["demo", "r0", "r1", "s0", "s1"]
    assert got[0].source == "user"
    assert [e.input for e in data.training_rows(spec, 2)][-1] == "later0"
    path = data.write_training(2, got)
    assert path == data.train_path(2)
    assert [json.loads(x)["input"] for x in path.read_text().splitlines()] == [e.input for e in got]


def test_one_mapping_from_example_to_store_row():
    e = Example(input="i", output="o", split="test", source="synthetic:1", teacher="t",
                params={"temperature": 0.7}, verdicts={"dup": "pass"}, accepted=False)
    row = example_row(e, "s1", 2)
    assert row == {"session_id": "s1", "round": 2, "input": "i", "output": "o", "split": "test",
                   "source": "synthetic:1", "teacher": "t", "params": {"temperature": 0.7},
                   "verdicts": {"dup": "pass"}, "accepted": False}
    assert example_row(e, "s1", 2, id="abc")["id"] == "abc"


def test_rounds_are_chosen_on_a_validation_slice_apart_from_the_estimates_rows(data):
    train, test, _ = data.save_retrieved(rows(100), rows(30, "t"), "the real test split of d", max_test=30)
    val, separate = data.validation()
    assert separate and len(val) == 10 and len(train) == 90
    assert not {e.input for e in val} & ({e.input for e in train} | {e.input for e in test})
    assert all(e.split == "validation" for e in val)


def test_synthetic_estimate_rows_come_from_subjects_never_trained_on(data):
    synth = [Example(input=f"s{i}", output=lab, source="synthetic:1",
                     params={"requested_label": lab, "topic": f"{lab} subject {i % 10}"})
             for i, lab in enumerate(["a", "b"] * 50)]
    kept, source = data.save_synthetic(1, synth)
    test = data.test()
    held = {e.params["topic"] for e in test}
    assert source.startswith(f"{len(test)} held-out synthetic examples from subjects never trained on")
    assert held and not held & {e.params["topic"] for e in kept}
    assert 10 <= len(test) <= 40
    val, separate = data.validation()
    assert separate and not {e.input for e in val} & {e.input for e in kept}
