"""Evaluation: metrics and intervals, the pinned teacher prompt, three rows, failures."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fixtures_models import cls_rows, text_rows, tiny_bert, tiny_llama, train_tiny
from tools.contracts import Demonstration, TaskSpec
from tools.evaluate import metrics
from tools.evaluate.prompts import parse_label, teacher_messages


def test_squad_normalisation_exact_match_and_token_f1():
    assert metrics.normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert metrics.exact_match("the Eiffel tower.", "Eiffel Tower") == 1.0
    assert metrics.token_f1("Eiffel tower in Paris", "the Eiffel Tower") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert metrics.token_f1("", "x") == 0.0


def test_numeric_match():
    assert metrics.numeric_match("The answer is 1,200.", "1200") == 1.0
    assert metrics.numeric_match("about 12", "13") == 0.0
    assert metrics.is_numeric_task(["3", "4.5"]) and not metrics.is_numeric_task(["3 apples"])
    assert "numeric_match" in metrics.compute("generation", ["x 3", "4"], ["3", "5"])


def test_classification_metrics_match_sklearn_and_count_unparseable_wrong():
    from sklearn.metrics import accuracy_score, f1_score

    gold = ["a", "b", "b", "c", "a", "c", "b", "a"]
    pred = ["a", "b", "a", "c", None, "b", "b", "a"]
    m = metrics.classification(pred, gold)
    safe = [p or "<none>" for p in pred]
    assert m["accuracy"].value == pytest.approx(accuracy_score(gold, safe))
    assert m["macro_f1"].value == pytest.approx(f1_score(gold, safe, labels=["a", "b", "c"], average="macro"))
    assert m["f1[c]"].value == pytest.approx(f1_score(gold, safe, labels=["c"], average="macro"))
    assert m["accuracy"].low <= m["accuracy"].value <= m["accuracy"].high


def test_bootstrap_is_seeded_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = rng.random(50) < 0.7
    big = rng.random(2000) < 0.7
    a = metrics.bootstrap(lambda i: small[i].mean(), 50, seed=3)
    assert a == metrics.bootstrap(lambda i: small[i].mean(), 50, seed=3)
    b = metrics.bootstrap(lambda i: big[i].mean(), 2000, seed=3)
    assert (b[1] - b[0]) < (a[1] - a[0])


def test_chrf_is_sacrebleu_chrf_plus_plus():
    from sacrebleu.metrics import CHRF

    hyp, ref = ["print(x)", "a = [1, 2]", "os.kill(pid)"], ["print(x)", "a = [1,2,3]", "os.getpid()"]
    m = metrics.chrf(hyp, ref)
    assert m.value == pytest.approx(CHRF(word_order=2).corpus_score(hyp, [ref]).score)
    assert m.low <= m.value <= m.high


SPEC = TaskSpec(instruction="Classify the question type.", kind="classification", labels=["LOC", "HUM"],
                demonstrations=[Demonstration(input="where is Paris", output="LOC"),
                                Demonstration(input="who is Ada", output="HUM")])


def test_teacher_prompt_is_pinned():
    assert teacher_messages(SPEC, "who wrote Hamlet") == [
        ("system", "Classify the question type.\nAnswer with exactly one label from this list: LOC, HUM. "
                   "Reply with the label only."),
        ("user", "where is Paris"), ("assistant", "LOC"),
        ("user", "who is Ada"), ("assistant", "HUM"),
        ("user", "who wrote Hamlet")]
    gen = TaskSpec(instruction="Translate to French.", kind="generation")
    assert teacher_messages(gen, "cat") == [
        ("system", "Translate to French.\nReply with the output only, no explanation."), ("user", "cat")]


@pytest.mark.parametrize("reply,label", [("LOC", "LOC"), (" loc.", "LOC"), ("'HUM'", "HUM"),
                                         ("The answer is HUM", "HUM"), ("LOC or HUM", None),
                                         ("location", None), ("", None)])
def test_teacher_reply_parsed_to_a_label(reply, label):
    assert parse_label(reply, ["LOC", "HUM"]) == label


class FakeClient:
    """Same surface as LLMClient: replies by input text; an Exception fails one call.

    `structured` validates the reply against the schema as LLMClient does, so a reply
    outside the label enum is a StructuredOutputError (unparseable), not a label.
    """

    model_name = "smollm2-135m-instruct"  # an embedded model: its parameter count is known
    is_embedded = True

    def __init__(self, replies):
        self.replies, self.calls = replies, []

    def _reply(self, msgs, purpose):
        self.calls.append(purpose)
        r = self.replies.get(msgs[-1][1], "no idea")
        if isinstance(r, Exception):
            raise r
        return r

    def structured(self, msgs, schema, *, purpose, **kw):
        from pydantic import ValidationError

        from tools.llm import StructuredOutputError

        r = self._reply(msgs, purpose)
        try:
            return schema.model_validate({"output": r})
        except ValidationError:
            raise StructuredOutputError(f"not a label: {r}", attempts=1, last_reply=r) from None

    def chat(self, msgs, *, purpose, **kw):
        return self._reply(msgs, purpose)


class FakeStore:
    def __init__(self):
        self.rows = []

    def record(self, table, row):
        self.rows.append((table, row))
        return len(self.rows)


@pytest.fixture(scope="module")
def cls_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cls")
    bert = tiny_bert(tmp / "bert")
    res = train_tiny(tmp, "encoder_finetune", bert, cls_rows(), epochs=10)
    assert res["status"] == "completed", res["error"]
    return res["model_path"], bert


def test_three_rows_on_the_same_split_with_failures_and_store(cls_model):
    from tools.evaluate import evaluate
    from tools.evaluate.systems import zero_shot_embedding

    model_path, bert = cls_model
    test = [{"input": "where is the capital city", "output": "LOC"},
            {"input": "who was born in the year", "output": "HUM"},
            {"input": "how many dollars", "output": "NUM"}]  # NUM never seen in training
    client = FakeClient({"where is the capital city": "LOC", "who was born in the year": "maybe LOC or HUM"})
    store = FakeStore()
    res = evaluate(SPEC, model_path, test, run_id="r1", client=client, store=store,
                   base=zero_shot_embedding(bert, SPEC.labels))
    rows = {s.system: s for s in res.scores}
    assert set(rows) == {"student", "teacher", "base"} and all(s.n == 3 for s in res.scores)
    assert rows["student"].metrics["accuracy"].value == pytest.approx(2 / 3)
    assert rows["teacher"].metrics["accuracy"].value == pytest.approx(1 / 3)
    assert rows["teacher"].metrics["unparseable_rate"].value == pytest.approx(2 / 3)
    assert rows["teacher"].params_m == 134.5 and rows["student"].params_m > 0
    assert rows["student"].latency_ms > 0 and client.calls == ["teacher_eval"] * 3
    assert res.failures[0]["name"] == "label not seen in training: NUM"
    metric_rows = [r for t, r in store.rows if t == "metrics"]
    assert {r["system"] for r in metric_rows} == {"student", "teacher", "base"}
    assert any(r["name"] == "macro_f1" and r["low"] is not None for r in metric_rows)


def test_teacher_subset_reports_student_on_the_same_rows(cls_model):
    from tools.evaluate import evaluate

    model_path, bert = cls_model
    test = [{"input": r["input"], "output": r["output"]} for r in cls_rows(12)]
    res = evaluate(SPEC, model_path, test, run_id="r2", client=FakeClient({}), teacher_limit=4,
                   base_model=str(bert))
    assert "test[:4]" in res.metrics and res.scores[1].n == 4 and res.scores[0].n == 12


def test_empty_test_split_is_a_clear_error(cls_model):
    from tools.evaluate import evaluate

    with pytest.raises(ValueError, match="empty"):
        evaluate(SPEC, cls_model[0], [], run_id="r3")


def test_text_failures_are_clustered():
    from tools.evaluate.errors import by_cluster

    inputs = [f"sort the list {i}" for i in range(6)] + [f"open the file path {i}" for i in range(6)]
    groups = by_cluster(inputs, ["x"] * 12, ["y"] * 12, [False] * 12, k=2)
    assert sum(g["count"] for g in groups) == 12 and len(groups) == 2
    names = " ".join(g["name"] for g in groups)
    assert "sort" in names and "file" in names


@pytest.mark.slow
def test_causal_student_and_untuned_base_rows(tmp_path):
    from tools.evaluate import evaluate
    from tools.evaluate.systems import untuned_causal

    llama = tiny_llama(tmp_path / "llama")
    res = train_tiny(tmp_path, "causal_full", llama, text_rows(), epochs=1)
    spec = TaskSpec(instruction="Echo the first word.", kind="generation")
    out = evaluate(spec, res["model_path"], text_rows(6), run_id="g", base=untuned_causal(llama, spec.instruction, 8))
    assert [s.system for s in out.scores] == ["student", "base"]
    assert {"chrf", "exact_match"} <= set(out.scores[0].metrics)


def test_a_teacher_that_never_answers_gets_no_score_row(cls_model):
    from tools.evaluate import evaluate
    from tools.evaluate.systems import zero_shot_embedding
    from tools.llm import LLMError

    model_path, bert = cls_model
    test = [{"input": "where is the capital city", "output": "LOC"},
            {"input": "who was born in the year", "output": "HUM"}]
    down = {t["input"]: LLMError("endpoint down") for t in test}
    res = evaluate(SPEC, model_path, test, run_id="r2", client=FakeClient(down),
                   base=zero_shot_embedding(bert, SPEC.labels))
    assert [s.system for s in res.scores] == ["student", "base"]


def test_the_metric_module_owns_its_scale_and_targets_see_0_to_1():
    from tools.contracts import MetricValue, RunResult, SystemScore
    from tools.evaluate import unit_score

    assert metrics.unit_value("chrf", 42.0) == pytest.approx(0.42)
    assert metrics.unit_value("accuracy", 0.42) == 0.42
    result = RunResult(run_id="r", model_path="/m", base_model="", scores=[
        SystemScore(system="student", name="s", metrics={"chrf": MetricValue(value=30.7)}),
        SystemScore(system="teacher", name="t", metrics={"exact_match": MetricValue(value=0.5)})])
    assert unit_score(result, "student", "chrf") == pytest.approx(0.307)
    assert unit_score(result, "teacher", "exact_match") == 0.5
    assert unit_score(result, "teacher", "chrf") is None and unit_score(result, "base", "chrf") is None
