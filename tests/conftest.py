"""Test-wide setup: every test gets its own P2M_HOME and no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Offline and quiet for every library that would otherwise reach out.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "P2M_MODEL", "HF_TOKEN", "HF_ENDPOINT",
            "P2M_EMBEDDED_GGUF", "P2M_EMBEDDED_ALIAS"):
    os.environ.pop(var, None)
# Tests whose subject is not the teacher's quality run the fast 135M model; the tests of
# the default teacher (tests/test_teacher_default.py) ask for it explicitly.
os.environ["P2M_EMBEDDED_MODEL"] = "smollm2-135m-instruct"
SMALL_TEACHER = "smollm2-135m-instruct"

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def p2m_home(tmp_path, monkeypatch):
    """A fresh data directory per test; settings are rebuilt from it."""
    home = tmp_path / "p2m_home"
    monkeypatch.setenv("P2M_HOME", str(home))
    from tools.settings import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
    _stop_embedded(home)


def _stop_embedded(home: Path) -> None:
    """Stop an embedded LLM server a test (or its subprocess) started under `home`.

    The server is a detached process shared per P2M_HOME, so nothing else would
    stop it; several leaked servers slow every later test on 2 cores.
    """
    if (home / "llm" / "server.json").exists():
        from tools.llm import embedded
        from tools.settings import Settings

        settings = Settings(home=home)
        state = embedded._read_state(settings)
        embedded.stop(settings)
        if state:  # belt and braces: never leak a server, even if stop() regressed
            embedded._terminate(int(state["pid"]), state.get("proc_start"), wait_s=5)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip when the repo was cloned without it."""
    data = SHARED / "data"
    if not data.exists():
        pytest.skip("../shared/data is not beside this clone")
    return data
