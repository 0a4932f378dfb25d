"""One small round against the real embedded teacher (SmolLM2 through xllamacpp).

Slow (a server start and a few calls of a 135M model on CPU), so it asks for
little: every request ends as a stored example or a counted error, the JSON
schema is honoured, and the report says the teacher is weak.
"""

from __future__ import annotations

import pytest

from tests.conftest import SMALL_TEACHER
from tests.test_synth_prompts import SPEC
from tools.llm import WEAK_TEACHER_NOTE, LLMClient
from tools.settings import Settings
from tools.store import Store
from tools.synth import SynthConfig, generate_round


@pytest.fixture
def settings(p2m_home):
    """Settings on this test's P2M_HOME; conftest stops any server started under it."""
    return Settings()


@pytest.mark.slow
def test_round_against_the_embedded_teacher(settings):
    store = Store(settings)
    client = LLMClient(settings, store=store, session_id="emb")
    cfg = SynthConfig(concurrency=2, consistency_k=1, attempts_factor=1.0, propose_attributes=False,
                      near_dup_threshold=None, overlap_threshold=None, max_input_chars=200,
                      items_per_request=2)
    res = generate_round(SPEC, client, n=4, round=1, config=cfg, store=store, session_id="emb")
    rep = res.report
    assert client.is_embedded and rep.teacher == SMALL_TEACHER
    assert rep.requested == 2 and rep.errors == 0 and len(res.examples) >= 2
    assert WEAK_TEACHER_NOTE in rep.warnings
    parsed = [e for e in res.examples if e.verdicts["parse"] == "pass"]
    assert all(e.output in SPEC.labels for e in parsed)
    rows = store.query("SELECT count(*) AS n FROM examples WHERE session_id = 'emb'")
    assert rows[0]["n"] == len(res.examples)
    assert store.query("SELECT count(*) AS n FROM llm_calls")[0]["n"] >= 2
