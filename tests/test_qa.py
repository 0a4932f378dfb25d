"""Extractive-QA student (qa_span): span labels, rejects, post-processing, metrics, choice, train->export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fixtures_models import tiny_bert
from tools.evaluate import metrics
from tools.train import qa
from tools.train.predictor import best_span, split_question_context

NOUNS = ["city", "country", "person", "river", "capital", "movie", "film", "prize", "friend", "lunch", "money", "name"]


def span_rows(n: int = 24) -> list[dict]:
    """A learnable span task: the answer is always the noun after 'the' (same position)."""
    return [{"input": f"Question: what is big? Context: the {NOUNS[i % len(NOUNS)]} is big and "
                      f"the {NOUNS[(i + 5) % len(NOUNS)]} is small",
             "output": NOUNS[i % len(NOUNS)]} for i in range(n)]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("bert"))


def test_question_and_context_are_split_in_both_orders():
    q, c, start = split_question_context("Question: Who won? Context: The Broncos won 24-10.")
    assert (q, c) == ("Who won?", "The Broncos won 24-10.")
    text = "Context: The Broncos won.\nQuestion: Who won?"
    q, c, start = split_question_context(text)
    assert (q, c) == ("Who won?", "The Broncos won.") and text[start:start + len(c)] == c
    assert split_question_context("Who won the game?") is None  # no context to copy from


def test_rows_without_context_or_with_an_answer_outside_it_are_rejected_with_the_reason():
    rows = span_rows(4) + [{"input": "Question: what is big? Context: the city is big", "output": "river"},
                           {"input": "what is big", "output": "city"},
                           {"input": "Question: what is big? Context: The City is big", "output": "city"}]
    kept, report = qa.span_examples(rows)
    assert report["span_rows"] == 5 and len(kept) == 5
    assert report["span_rejected"] == {"answer_not_in_context": 1, "no_context": 1}
    assert {e["reason"] for e in report["span_rejected_examples"]} == {"answer_not_in_context", "no_context"}
    assert "rejected 2 row(s)" in report["notes"][0]
    last = kept[-1]  # found case-insensitively, at its real offset
    assert last["context"][last["answer_start"]:last["answer_start"] + 4] == "City"


def test_span_labels_come_from_offsets_across_stride_windows(bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(bert)
    filler = " ".join(NOUNS * 4)
    context = f"{filler} the river capital is big {filler}"
    ex = {"question": "what is big?", "context": context, "answer": "river capital",
          "answer_start": context.index("river capital")}
    feats, owners, offsets = qa.encode(tok, [ex], max_length=32, stride=8, question_tokens=8)
    assert len(feats) >= 4 and set(owners) == {0}
    holding = 0
    for f, offs in zip(feats, offsets):
        s, e = f["start_positions"], f["end_positions"]
        ctx = [o for o in offs if o is not None]
        whole = ctx[0][0] <= ex["answer_start"] and ctx[-1][1] >= ex["answer_start"] + len(ex["answer"])
        if whole:
            holding += 1
            assert context[offs[s][0]:offs[e][1]] == "river capital"
            assert tok.decode(f["input_ids"][s:e + 1]) == "river capital"
        else:
            assert (s, e) == (0, 0)  # points at [CLS]: this window does not hold the answer
    assert 1 <= holding < len(feats)
    # Consecutive windows overlap by the stride: the next starts before the previous ends.
    firsts = [next(o for o in offs if o is not None)[0] for offs in offsets]
    lasts = [[o for o in offs if o is not None][-1][1] for offs in offsets]
    assert all(firsts[k + 1] < lasts[k] for k in range(len(feats) - 1))


def test_post_processing_picks_the_best_valid_span_over_windows():
    offs = [None, None, (0, 3), (4, 9), (10, 15), (16, 20), None]  # [CLS] q [ctx x4] [SEP]
    start = np.array([9.0, 8.0, 1.0, 5.0, 0.0, 0.0, 0.0])  # [CLS] and the question token score highest
    end = np.array([9.0, 0.0, 0.0, 0.0, 4.0, 6.0, 9.0])  # [SEP] highest: not context
    assert best_span(start, end, offs)[1:] == (4, 20)
    assert best_span(start, end, offs, max_answer_tokens=2)[1:] == (4, 15)  # length cap
    # The highest pair (start 5, end 3: 18) ends before it starts: skipped for (5, 5).
    assert best_span(np.array([0, 0, 0, 0, 0, 9.0, 0]), np.array([0, 0, 0, 9.0, 0, 1.0, 0]), offs) == (10.0, 16, 20)
    examples = [{"context": "the river capital is big"}]
    w1 = [None, (0, 3), (4, 9), (10, 17)]
    w2 = [None, (10, 17), (18, 20), (21, 24)]
    logits_s = [np.array([0, 0, 2.0, 0]), np.array([0, 0, 0, 7.0])]
    logits_e = [np.array([0, 0, 0, 2.0]), np.array([0, 0, 0, 7.0])]
    assert qa.spans_from_logits(logits_s, logits_e, [0, 0], [w1, w2], examples) == ["big"]


def test_em_and_f1_use_squad_normalisation_and_the_best_gold():
    assert metrics.exact_match("The  Denver Broncos!", "denver broncos") == 1.0
    assert metrics.token_f1("an apple pie", "the apple") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    golds = [["Denver Broncos", "The Broncos"], ["Carolina Panthers", "Panthers"], "Santa Clara"]
    out = metrics.compute("extraction", ["broncos", "the Panthers.", "Levi's Stadium"], golds)
    assert out["exact_match"].value == pytest.approx(2 / 3)  # "broncos" = "The Broncos" once normalised
    assert out["token_f1"].value == pytest.approx(2 / 3)
    # Only the first gold: neither matches whole ("broncos" is half of "Denver Broncos").
    first = metrics.compute("extraction", ["broncos", "the Panthers.", "Levi's Stadium"], metrics.first_gold(golds))
    assert first["exact_match"].value == 0.0
    assert first["token_f1"].value == pytest.approx((2 / 3 + 2 / 3 + 0.0) / 3)


def test_evaluation_reads_every_gold_answer_of_a_row():
    from tools.evaluate.evaluation import _rows

    rows = [{"input": "q", "output": "A", "answers": ["A", "the A", "A"]}, {"input": "r", "output": "B"}]
    inputs, golds = _rows(rows)
    assert golds == [["A", "the A"], "B"]


def qa_pipeline_removed() -> bool:
    from transformers.pipelines import REMOVED_TASKS

    return "question-answering" in REMOVED_TASKS


def _prepare(tmp_path, rows, method="auto"):
    from tools.train import TrainConfig, write_rows
    from tools.train.worker import prepare

    write_rows(tmp_path / "train.jsonl", rows)
    return prepare(TrainConfig(run_id="c", run_dir=str(tmp_path / "run"), kind="extraction", method=method,
                               train_path=str(tmp_path / "train.jsonl"), record_to_store=False))


def test_the_chooser_picks_qa_span_for_span_shaped_extraction_and_the_causal_lm_otherwise(tmp_path):
    rows = span_rows(20) + [{"input": "Question: what is big? Context: the city is big", "output": "river"}]
    method, train, val, _, report = _prepare(tmp_path, rows)
    assert method == "qa_span" and len(train) + len(val) == 20
    assert report["span_rejected"] == {"answer_not_in_context": 1} and "rejected 1 row" in report["notes"][0]
    free = [{"input": f"summarise {w} and {v}", "output": f"{v} {w}"} for w in NOUNS for v in NOUNS[:2]]
    method, *_, report = _prepare(tmp_path, free)
    assert method == "causal_full" and "not span-shaped" in report["notes"][0]


def test_qa_span_trains_exports_and_loads_in_the_question_answering_pipeline(tmp_path, bert):
    from transformers import pipeline

    from tests.fixtures_models import train_tiny
    from tools.contracts import TaskSpec
    from tools.export import export_model
    from tools.train.predictor import load

    rows = span_rows(24) + [{"input": "what is big", "output": "city"}]
    res = train_tiny(tmp_path, "qa_span", bert, rows, epochs=30, learning_rate=3e-3, batch_size=8)
    assert res["status"] == "completed", res["error"]
    assert res["method"] == "qa_span" and res["data"]["span_rejected"] == {"no_context": 1}
    assert res["validation"]["f1"] is not None
    model = load(res["model_path"])
    assert model.format == "question-answering"
    preds = model.predict([r["input"] for r in span_rows(24)])
    assert sum(p == r["output"] for p, r in zip(preds, span_rows(24))) >= 18  # learnt the span, not noise
    spec = TaskSpec(instruction="Answer with a span of the context.", kind="extraction")
    folder = export_model(res["model_path"], spec, name="qa-tiny", exports_dir=tmp_path / "exports",
                          sample_inputs=[r["input"] for r in span_rows(4)], onnx=False)
    card = (folder / "README.md").read_text()
    assert "pipeline_tag: question-answering" in card and 'pipeline("question-answering"' in card
    assert json.loads((folder / "p2m_model.json").read_text())["format"] == "question-answering"
    context = "the river is big and the money is small"
    if qa_pipeline_removed():  # transformers 5 dropped it: the folder must still load as a plain QA model
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        tok, net = AutoTokenizer.from_pretrained(folder), AutoModelForQuestionAnswering.from_pretrained(folder)
        assert type(net).__name__ == "BertForQuestionAnswering"
        enc = tok("what is big?", context, return_tensors="pt")
        with torch.no_grad():
            out = net(**enc)
        assert out.start_logits.shape == enc["input_ids"].shape
    else:
        got = pipeline("question-answering", model=str(folder), device="cpu")(question="what is big?", context=context)
        assert got["answer"] in context and got["end"] > got["start"]
    assert load(folder).predict(["Question: what is big? Context: the prize is big and the city is small"]) == ["prize"]


def test_a_causal_or_seq2seq_base_is_swapped_for_the_packaged_encoder(tmp_path, bert):
    from tools.train.base_models import minilm_path

    assert qa.resolve_qa_base(str(bert)) == bert
    for arch, extra in (("LlamaForCausalLM", {}), ("T5ForConditionalGeneration", {"is_encoder_decoder": True})):
        d = tmp_path / arch
        d.mkdir()
        (d / "config.json").write_text(json.dumps({"architectures": [arch], **extra}))
        assert qa.resolve_qa_base(str(d)) == minilm_path()
    assert qa.resolve_qa_base("") == minilm_path()
