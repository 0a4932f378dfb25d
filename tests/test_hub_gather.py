"""Retrieval for a task: loading the chosen datasets into training and test rows."""

from __future__ import annotations

import json

from tools.contracts import Candidate, TaskSpec
from tools.hub.gather import load_chosen, sample
from tools.hub.mapping import fit_dataset
from tools.settings import Settings

SPEC = TaskSpec(instruction="Classify tickets as billing or other.", kind="classification",
                labels=["billing", "other"])


def _dataset(folder, splits):
    folder.mkdir(parents=True)
    for split, n in splits.items():
        (folder / f"{split}.jsonl").write_text("".join(
            json.dumps({"text": f"{split} ticket number {i}", "label": ["billing", "other"][i % 2]})
            + "\n" for i in range(n)))
    return Candidate(kind="dataset", id=folder.name, reachable=True, location=str(folder))


def _fit(cand, settings):
    fit = fit_dataset(SPEC, cand, settings=settings)
    assert fit.rejected is None
    return fit


def test_a_real_test_split_becomes_the_test_set_sampled_to_size(tmp_path):
    settings = Settings(home=tmp_path / "home")
    fit = _fit(_dataset(tmp_path / "tickets", {"train": 12, "test": 9}), settings)
    got = load_chosen(SPEC, [fit], settings, cap=10, test_rows=4)
    assert len(got.train) == 10 and all(e.input.startswith("train") for e in got.train)
    assert len(got.test) == 4 and all(e.input.startswith("test") for e in got.test)
    assert got.eval_source == "the real test split of tickets (4 rows)"
    assert got.test == load_chosen(SPEC, [fit], settings, cap=10, test_rows=4).test  # seeded


def test_without_a_test_split_nothing_is_held_out_here(tmp_path):
    settings = Settings(home=tmp_path / "home")
    fits = [_fit(_dataset(tmp_path / name, {"train": 6}), settings) for name in ("a", "b")]
    got = load_chosen(SPEC, fits, settings, cap=100, test_rows=4)
    assert len(got.train) == 12 and got.test == [] and got.eval_source == ""


def test_a_chosen_dataset_that_vanished_is_a_note_not_a_crash(tmp_path):
    settings = Settings(home=tmp_path / "home")
    folder = tmp_path / "gone"
    fit = _fit(_dataset(folder, {"train": 6}), settings)
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    got = load_chosen(SPEC, [fit], settings, cap=100, test_rows=4)
    assert got.train == [] and len(got.notes) == 1 and "gone" in got.notes[0]


def test_sample_keeps_order_and_is_seeded():
    assert sample(list(range(5)), 10) == [0, 1, 2, 3, 4]
    got = sample(list(range(100)), 5)
    assert got == sorted(got) and got == sample(list(range(100)), 5) and len(got) == 5
