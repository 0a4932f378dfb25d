"""Check a user's labeled file before a session spends anything on it.

`check_user_file(path)` raises `UnusableFile` with the reason a `--data` file (or a
web upload) cannot serve as labeled data: missing, a folder, not a regular file
(a device such as /dev/zero, a pipe), unreadable, an unsupported type, not
parseable, no rows, or no pair of usable input/output columns. Whether its labels
fit the task is only known once the spec is; `tools.hub.mapping.fit_dataset`
decides that later, with its own reason.
"""

from __future__ import annotations

import os
from pathlib import Path

from tools.hub.content import DATA_SUFFIXES, read_rows
from tools.hub.mapping import heuristic_mapping, valid_mapping

SAMPLE_ROWS = 200  # enough to judge the columns; the file itself is read later


class UnusableFile(ValueError):
    """A user file that cannot be labeled data; the message says why and what to give."""


def check_user_file(path: str | Path) -> Path:
    """The file's path when it looks like labeled data, else UnusableFile with the reason."""
    p = Path(path).expanduser()
    kinds = "a CSV, TSV, JSONL, JSON or parquet file"
    if not p.exists():
        raise UnusableFile(f"{p} does not exist")
    if p.is_dir():
        raise UnusableFile(f"{p} is a folder; --data takes {kinds} (a folder of datasets goes to --catalog)")
    if not p.is_file():
        raise UnusableFile(f"{p} is not a regular file (a device, pipe or socket); give {kinds}")
    if not os.access(p, os.R_OK):
        raise UnusableFile(f"{p} is not readable by this user (check its permissions)")
    if p.suffix.lower() not in DATA_SUFFIXES:
        raise UnusableFile(f"{p.name}: files of type '{p.suffix or '(none)'}' are not read; give {kinds}")
    try:
        rows = read_rows(p, SAMPLE_ROWS)
    except ValueError as e:
        raise UnusableFile(str(e)) from None
    if not rows:
        raise UnusableFile(f"{p.name} has no data rows (empty, or a header only)")
    columns = list(dict.fromkeys(k for r in rows[:50] for k in r))
    if len(columns) < 2:
        raise UnusableFile(f"{p.name} has only one column ({', '.join(map(repr, columns)) or 'none'}): "
                           "labeled data needs an input text column and an output column, e.g. text,label")
    why = valid_mapping(heuristic_mapping(columns, rows, "classification"), columns, rows)
    if why:
        raise UnusableFile(f"{p.name}: {why} (its columns: {', '.join(columns[:12])}); labeled data "
                           "needs an input text column and an output column, e.g. text,label")
    return p
