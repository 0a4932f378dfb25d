"""Damaged stores: one clear message each (path, move it aside, what is lost), never a traceback."""

from __future__ import annotations

import os
import time

import pytest

from evals.faults import SECRET
from tests.fakes.openai_server import FakeOpenAIServer
from tools.settings import Settings
from tools.store import Store, StoreError

TICKETS = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"


def damage_blocks(path) -> None:
    """Keep DuckDB's headers, overwrite the data blocks: checksum errors that say 'block'."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(12288)
        f.write(os.urandom(size - 12288))


@pytest.fixture
def damaged_store(p2m_home):
    store = Store(Settings(home=p2m_home), lock_timeout=5)
    store.record("events", {"kind": "before"})
    store.ingest()
    damage_blocks(store.path)
    return store


def cli(args, env=None):
    from typer.testing import CliRunner

    from ui.cli import app

    res = CliRunner().invoke(app, args, env={"OPENAI_API_KEY": SECRET, **(env or {})})
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and SECRET not in res.output
    return res.exit_code, res.output


def test_damaged_blocks_are_not_reported_as_a_lock(damaged_store):
    t0 = time.monotonic()
    with pytest.raises(StoreError) as e:
        damaged_store.query("SELECT count(*) FROM events")
    msg = str(e.value)
    assert "locked by another process" not in msg
    assert "damaged" in msg and str(damaged_store.path) in msg and "mv " in msg
    assert "a new one is created" in msg and "Lost with it" in msg
    assert time.monotonic() - t0 < damaged_store.lock_timeout  # no retrying as if it were a lock


def test_the_message_does_not_promise_rows_that_ingest_deleted(damaged_store):
    with pytest.raises(StoreError) as e:
        damaged_store.ingest()
    assert "are still in" not in str(e.value)  # finished spool files are deleted after ingest
    assert "Rows not stored yet wait in" in str(e.value)


@pytest.mark.parametrize("args", [["sessions", "list"], ["sql", "SELECT 1"], ["run", "--yes", TICKETS],
                                  ["chat", "--session", "abc"]])
def test_cli_commands_on_a_damaged_store_print_one_message(damaged_store, args):
    with FakeOpenAIServer() as srv:
        code, out = cli(args, {"OPENAI_BASE_URL": srv.base_url, "P2M_MODEL": "fake-model"})
        assert not [r for r in srv.requests if r["body"]]  # no paid call before the store said no
    assert code == 2 and "damaged" in out and "mv " in out, out


@pytest.mark.parametrize("args", [["sessions", "show", "abc"], ["chat", "--session", "abc"],
                                  ["report", "abc"], ["run", "--yes", TICKETS]])
def test_a_damaged_checkpoint_file_names_itself_and_what_is_lost(p2m_home, args):
    p2m_home.mkdir(parents=True, exist_ok=True)
    (p2m_home / "checkpoints.sqlite").write_bytes(os.urandom(64 * 1024))
    with FakeOpenAIServer() as srv:
        code, out = cli(args, {"OPENAI_BASE_URL": srv.base_url, "P2M_MODEL": "fake-model"})
    flat = " ".join(out.split())
    assert code == 2, out
    assert "checkpoints.sqlite is damaged" in flat and "mv " in flat
    assert "no earlier session can be resumed" in flat
