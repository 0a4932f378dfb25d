"""A `--data` file (or a web upload) is checked before any LLM call, and the reason is printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.faults import SECRET
from tests.fakes.openai_server import FakeOpenAIServer
from tools.hub.user_files import UnusableFile, check_user_file

TICKETS = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"


def make(tmp_path: Path) -> dict:
    (tmp_path / "a_directory").mkdir()
    files = {
        "onecol.csv": "text\nI was charged twice\nThe app crashes\n",
        "header.csv": "text,label\n",
        "numbers.csv": "id,ts\n" + "".join(f"{i},{i * 1000}\n" for i in range(20)),
        "notes.txt": "just some notes\n",
        "binary.csv": b"\x00\x01\x02" * 100,
    }
    for name, body in files.items():
        (tmp_path / name).write_bytes(body if isinstance(body, bytes) else body.encode())
    return {
        "onecol.csv": (tmp_path / "onecol.csv", "only one column ('text')"),
        "a_directory": (tmp_path / "a_directory", "is a folder"),
        "/dev/zero": (Path("/dev/zero"), "not a regular file"),
        "header.csv": (tmp_path / "header.csv", "no data rows"),
        "numbers.csv": (tmp_path / "numbers.csv", "no column looks like the task's input"),
        "notes.txt": (tmp_path / "notes.txt", "type '.txt' are not read"),
        "binary.csv": (tmp_path / "binary.csv", "cannot read"),
        "missing.csv": (tmp_path / "missing.csv", "does not exist"),
    }


CASES = ["onecol.csv", "a_directory", "/dev/zero", "header.csv",
         "numbers.csv", "notes.txt", "binary.csv", "missing.csv"]


@pytest.mark.parametrize("case", CASES)
def test_check_user_file_says_why(tmp_path, case):
    path, reason = make(tmp_path)[case]
    with pytest.raises(UnusableFile) as e:
        check_user_file(path)
    assert reason in str(e.value)


def test_a_good_file_passes(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("text,label\nI was charged twice,billing\nThe app crashes,technical\n")
    assert check_user_file(p) == p


@pytest.mark.parametrize("case", ["onecol.csv", "a_directory", "/dev/zero"])
def test_p2m_run_prints_the_reason_before_any_llm_call(tmp_path, case):
    from typer.testing import CliRunner

    from ui.cli import app

    path, reason = make(tmp_path)[case]
    with FakeOpenAIServer() as srv:
        res = CliRunner().invoke(app, ["run", "--yes", "--data", str(path), TICKETS],
                                 env={"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": SECRET,
                                      "P2M_MODEL": "fake-model"})
        assert srv.requests == []  # no call at all: not even the endpoint probe
    assert res.exit_code == 2, res.output
    assert "--data" in res.output and reason in res.output and "Traceback" not in res.output


def test_web_uploads_are_checked_the_same_way(tmp_path):
    from ui.web import WebBackend

    path, reason = make(tmp_path)["onecol.csv"]
    with pytest.raises(ValueError, match="only one column"):
        WebBackend.check_uploads([str(path)])
