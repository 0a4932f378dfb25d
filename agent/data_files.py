"""The session's data on disk: one owner for its files, splits and hold-out rules.

    data = SessionData(ctx.settings, session_id, ctx.store)
    data.test()                        # the held-out evaluation rows
    data.save_retrieved(train, test, eval_source, max_test=300)   # find_data
    data.save_synthetic(round_, accepted)                          # generate
    rows = data.training_rows(spec, round_); data.write_training(round_, rows)   # train

Layout under P2M_HOME/runs/<session>/data:

    test.jsonl          held-out evaluation rows (a real test split, or held out here): the
                        estimate shown to the user, scored once per exported model
    validation.jsonl    rows rounds are compared and chosen on (never the estimate's rows)
    retrieved.jsonl     training rows from the chosen datasets and the user's files
    synth_r{r}.jsonl    round r's accepted synthetic rows
    train_r{r}.jsonl    what round r trained on

The store records every example for analysis; training and evaluation read
these files (fast, and a killed step finds them as they were).
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.contracts import Example, TaskSpec
from tools.store import example_row

# Without a real test split, a fixed slice is held out for evaluation:
RETRIEVED_HOLDOUT_PARTS = 5  # one fifth of the retrieved rows (the last ones), at most max_test
SYNTH_HOLDOUT_SHARE = 0.2  # of round-1 synthetic data
SYNTH_HOLDOUT_MIN = 5  # fewer accepted rows than this: hold nothing out
# Rounds are chosen on a validation slice of the training data, never on the estimate's rows:
VALIDATION_SHARE = 0.1
VALIDATION_MAX = 300
VALIDATION_MIN_ROWS = 20  # fewer training rows than this: validate on the estimate's rows (said so)


def write_examples(path: Path, examples: list[Example]) -> Path:
    """Write examples as JSONL atomically (temp file + rename)."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e.model_dump(), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def read_examples(path: Path) -> list[Example]:
    """Examples from a JSONL file; [] when it does not exist yet."""
    if not path.exists():
        return []
    return [Example.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


class SessionData:
    """The files of one session's data, how they split, and how their rows are recorded."""

    def __init__(self, settings, session_id: str, store):
        self.session_id = session_id
        self.store = store
        self.dir = Path(settings.runs_dir) / session_id / "data"
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- layout -------------------------------------------------------------------
    @property
    def test_path(self) -> Path:
        return self.dir / "test.jsonl"

    @property
    def retrieved_path(self) -> Path:
        return self.dir / "retrieved.jsonl"

    def synth_path(self, round_: int) -> Path:
        return self.dir / f"synth_r{round_}.jsonl"

    @property
    def verified_path(self) -> Path:
        return self.dir / "verified.jsonl"

    def train_path(self, round_: int) -> Path:
        return self.dir / f"train_r{round_}.jsonl"

    # -- reading ------------------------------------------------------------------
    def test(self) -> list[Example]:
        """The held-out evaluation rows ([] until find_data or round 1 wrote them)."""
        return read_examples(self.test_path)

    @property
    def validation_path(self) -> Path:
        return self.dir / "validation.jsonl"

    def validation(self) -> tuple[list[Example], bool]:
        """(rows to choose rounds on, whether they are separate from the estimate's rows)."""
        rows = read_examples(self.validation_path)
        return (rows, True) if rows else (self.test(), False)

    def verified(self) -> list[Example]:
        """Rows whose labels the user confirmed or corrected (a small gold set)."""
        return read_examples(self.verified_path)

    def retrieved(self) -> list[Example]:
        return read_examples(self.retrieved_path)

    def synthetic(self, rounds: range) -> list[Example]:
        """Accepted synthetic rows of the given rounds, in round order."""
        return [e for r in rounds for e in read_examples(self.synth_path(r))]

    def existing(self, round_: int) -> list[Example]:
        """Rows a new round must not duplicate: retrieved and earlier rounds' synthetic."""
        return self.retrieved() + self.synthetic(range(1, round_))

    def training_rows(self, spec: TaskSpec, round_: int) -> list[Example]:
        """User demonstrations, retrieved rows and every round's accepted synthetic rows."""
        rows = [Example(input=x.input, output=x.output, source="user") for x in spec.demonstrations]
        rows += self.retrieved() + self.synthetic(range(1, round_ + 1))
        if spec.kind == "classification":
            rows = [e for e in rows if e.output in spec.labels]
        return rows

    # -- writing ------------------------------------------------------------------
    def write_training(self, round_: int, rows: list[Example]) -> Path:
        """Write what round r trains on (the trainer reads this file)."""
        return write_examples(self.train_path(round_), rows)

    def save_retrieved(self, train: list[Example], test: list[Example], eval_source: str,
                       max_test: int) -> tuple[list[Example], list[Example], str]:
        """Write retrieved rows and the test split, and record both (round 0).

        Without a real test split, the last rows of the retrieved data are held
        out instead. Returns (train, test, eval_source) as written.
        """
        if train and not test:
            k = max(1, min(len(train) // RETRIEVED_HOLDOUT_PARTS, max_test))
            test, train = train[-k:], train[:-k]
            eval_source = f"{k} held-out rows of the retrieved data"
        for e in test:
            e.split = "test"
        train, val = _carve_validation(train)
        write_examples(self.retrieved_path, train)
        write_examples(self.test_path, test)
        if val:
            write_examples(self.validation_path, val)
        self.record(0, train + val + test)
        return train, test, eval_source

    def save_synthetic(self, round_: int, accepted: list[Example]) -> tuple[list[Example], str]:
        """Write a round's accepted rows; returns (training rows, new eval source or "").

        The generator records these rows itself. In round 1 with no test split yet,
        a share of them is held out as the test split (said so in the eval source).
        """
        eval_source = ""
        if round_ == 1 and len(accepted) >= SYNTH_HOLDOUT_MIN and not self.test():
            test, accepted, by_subject = _hold_out_subjects(accepted)
            for e in test:
                e.split = "test"
            write_examples(self.test_path, test)
            eval_source = (f"{len(test)} held-out synthetic examples"
                           + (" from subjects never trained on" if by_subject else "")
                           + " (the teacher's labels, not a real test split)")
        if not read_examples(self.validation_path):
            accepted, val = _carve_validation(accepted)
            if val:
                write_examples(self.validation_path, val)
        write_examples(self.synth_path(round_), accepted)
        return accepted, eval_source

    def save_verified(self, rows: list[Example]) -> None:
        """Write and record the user-verified rows."""
        write_examples(self.verified_path, rows)
        self.record(0, rows)

    def record(self, round_: int, examples: list[Example]) -> None:
        """Log examples in the store."""
        if examples:
            self.store.record_many("examples", [example_row(e, self.session_id, round_)
                                                for e in examples])


def _carve_validation(rows: list[Example]) -> tuple[list[Example], list[Example]]:
    """(rows left for training, a seeded validation slice), one label at a time for labels."""
    if len(rows) < VALIDATION_MIN_ROWS:
        return rows, []
    k = min(VALIDATION_MAX, max(2, int(len(rows) * VALIDATION_SHARE)))
    picked = set(_spread(len(rows), k))
    val = [e.model_copy(update={"split": "validation"}) for i, e in enumerate(rows) if i in picked]
    return [e for i, e in enumerate(rows) if i not in picked], val


def _spread(n: int, k: int) -> list[int]:
    """k indexes spread evenly over range(n): deterministic, so a resume holds out the same rows."""
    return sorted({int(i * n / k + n / (2 * k)) for i in range(k)})


def _hold_out_subjects(rows: list[Example]) -> tuple[list[Example], list[Example], bool]:
    """(test, train, by subject): whole subjects of the attribute grid held out, so the
    estimate is not inflated by near-copies of training rows; a fixed share when the rows
    carry no subjects or the subjects are too few to split."""
    subjects = sorted({(e.params.get("requested_label"), e.params.get("topic")) for e in rows
                       if e.params.get("topic")})
    want = max(1, int(len(rows) * SYNTH_HOLDOUT_SHARE))
    if len(subjects) >= 5:
        held: set = set()
        for s in subjects[2::5] + subjects[4::5] + subjects[::5]:  # spread over the grid
            if sum((e.params.get("requested_label"), e.params.get("topic")) in held for e in rows) >= want:
                break
            held.add(s)
        inside = [(e.params.get("requested_label"), e.params.get("topic")) in held for e in rows]
        test = [e for e, x in zip(rows, inside) if x]
        if 0.5 * want <= len(test) <= 2 * want:
            return test, [e for e, x in zip(rows, inside) if not x], True
    return rows[-want:], rows[:-want], False
