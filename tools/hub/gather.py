"""Retrieval for a task: find datasets that fit it, then load the chosen ones.

    found = fit_candidates(spec, settings, data_files=["mine.csv"], catalogs=["~/data"])
    found.fits         # FitResult per usable dataset: the user's files first, best first
    found.candidates   # every candidate worth showing (reachable ones first)
    got = load_chosen(spec, found.fits[:1], settings, cap=6000, test_rows=300)
    got.train, got.test, got.eval_source, got.notes

A real test split of a chosen dataset becomes the evaluation set (sampled to
`test_rows`); without one, `got.test` is empty and the caller holds rows out.
"""

from __future__ import annotations

import random
from collections import Counter

from pydantic import BaseModel, Field

from tools.contracts import Candidate, Example, TaskSpec
from tools.hub.content import ContentUnavailable, load_content
from tools.hub.mapping import FitResult, fit_dataset, load_examples, user_file_candidate
from tools.hub.search import DatasetFilters, search_datasets

MAX_FITS = 4  # fitting loads content: only the top reachable candidates are tried
SEARCH_K = 10


class Found(BaseModel):
    """Datasets that fit the task, everything worth showing, and what was skipped."""

    fits: list[FitResult] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Gathered(BaseModel):
    """Rows loaded from the chosen datasets, split for training and evaluation."""

    train: list[Example] = Field(default_factory=list)
    test: list[Example] = Field(default_factory=list)
    eval_source: str = ""
    notes: list[str] = Field(default_factory=list)
    dropped: dict[str, dict[str, int]] = Field(default_factory=dict,
                                               description="dataset -> label -> training rows left out")


def sample(rows: list, n: int, seed: int = 0) -> list:
    """A seeded sample of at most n rows, order kept (same rows on every resume)."""
    if len(rows) <= n:
        return list(rows)
    idx = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in idx]


def fit_candidates(spec: TaskSpec, settings, data_files=(), catalogs=(),
                   max_fits: int = MAX_FITS) -> Found:
    """The user's files, then the best reachable datasets, fitted to the task's columns and labels."""
    found = Found()
    for f in data_files:
        fit = fit_dataset(spec, user_file_candidate(f), client=None, settings=settings)
        (found.notes.append(f"your file {f}: {fit.rejected}") if fit.rejected
         else found.fits.append(fit))
    catalogs = list(catalogs)
    res = search_datasets(spec.instruction, settings, catalogs=catalogs, spec=spec, k=SEARCH_K)
    found.notes += res.notes
    # What can be loaded now (catalogs, and the Hub when online) is ranked on its own,
    # so a reachable dataset is not crowded out by Hub-only ones offline.
    reachable = search_datasets(spec.instruction, settings, catalogs=catalogs, spec=spec,
                                k=SEARCH_K, filters=DatasetFilters(kind=spec.kind,
                                                                   reachable_only=True))
    tried = 0
    for cand in reachable.candidates:
        if not cand.reachable or tried >= max_fits:
            continue
        tried += 1
        fit = fit_dataset(spec, cand, client=None, settings=settings)
        (found.notes.append(f"skipped {cand.id}: {fit.rejected}") if fit.rejected
         else found.fits.append(fit))
    shown = {c.id for c in res.candidates}
    found.candidates = [c for c in reachable.candidates if c.id not in shown] + res.candidates
    return found


def load_chosen(spec: TaskSpec, fits: list[FitResult], settings, cap: int,
                test_rows: int) -> Gathered:
    """Training rows of every chosen dataset; the first real test split found is the test set."""
    got = Gathered()
    for fit in fits:
        cand = fit.candidate
        try:
            content = load_content(cand.location or cand.id, cand.config, settings)
        except ContentUnavailable as e:
            got.notes.append(str(e))
            continue
        label_map = fit.label_map  # decided once, by mapping.fit_labels
        dropped: Counter = Counter()
        got.train += load_examples(spec, cand, settings, cap=cap, splits=[cand.split],
                                   label_map=label_map, content=content, dropped=dropped)
        if dropped:
            top = ", ".join(f"{lab} ({n})" for lab, n in dropped.most_common(8))
            got.notes.append(f"{cand.id}: left out {sum(dropped.values())} training rows whose label "
                             f"is not one of the task's: {top}{', ...' if len(dropped) > 8 else ''}")
            got.dropped[cand.id] = dict(dropped)
        if not got.test and "test" in content.splits and cand.split != "test":
            test = load_examples(spec, cand, settings, cap=None, splits=["test"],
                                 label_map=label_map, content=content)
            got.test = sample(test, test_rows)
            got.eval_source = f"the real test split of {cand.id} ({len(got.test)} rows)"
    return got
