"""The teacher as annotator: two constrained answers per text, kept when they agree."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.chat import FakeChatModel
from tests.test_synth_prompts import SPEC
from tools.llm import LLMClient
from tools.settings import Settings
from tools.synth.annotate import annotate


class ByMessages(FakeChatModel):
    """Answers by (first demonstration shown, input): the two answers differ in demo order."""

    table: dict = {}

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        first_demo = messages[1].content
        self.responses = {messages[-1].content: self.table[(first_demo, messages[-1].content)]}
        return super()._generate(messages, stop, run_manager, **kwargs)


def test_agreeing_answers_are_kept_with_provenance_and_the_rest_recorded(p2m_home):
    from tools.store import Store

    a, b = SPEC.demonstrations[0].input, SPEC.demonstrations[1].input  # forward / reversed order
    out = lambda lab: json.dumps({"output": lab})  # noqa: E731
    table = {(a, "claim your free cruise now"): out("spam"), (b, "claim your free cruise now"): out("spam"),
             (a, "running late, start without me"): out("ham"),
             (b, "running late, start without me"): out("spam"),
             (a, "???"): "no idea", (b, "???"): out("ham")}
    store = Store(Settings())
    client = LLMClient(Settings(), chat_model=ByMessages(table=table))
    rows, rep = annotate(SPEC, client, list(dict.fromkeys(t for _, t in table)),
                         ["sms@default/train/0", "sms@default/train/1", "sms@default/train/2"],
                         store=store, session_id="s", concurrency=1)  # the fake is not thread-safe
    assert [(r.input, r.output, r.accepted) for r in rows] == [
        ("claim your free cruise now", "spam", True), ("running late, start without me", "ham", False),
        ("???", "", False)]
    assert rows[0].source == "annotated:sms@default/train/0"
    assert rows[1].verdicts["agreement"] == "the teacher's two answers differ ('ham' vs 'spam')"
    assert rep.labelled == 1 and rep.disagreed == 1 and rep.failed == 1 and rep.agreement == 0.5
    assert rep.line().startswith("teacher-annotated real text: 1 of 3 rows kept")
    stored = store.query("SELECT source, accepted FROM examples WHERE session_id='s' ORDER BY source")
    assert [r["source"] for r in stored][0] == "annotated:sms@default/train/0" and len(stored) == 3


def test_annotation_needs_labels():
    from tools.contracts import TaskSpec

    with pytest.raises(ValueError, match="classification spec with labels"):
        annotate(TaskSpec(instruction="Summarise", kind="generation"), None, ["x"], ["s"])
