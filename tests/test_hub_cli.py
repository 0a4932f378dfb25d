"""`p2m hub ...` commands, prompt pins, the retrieval eval, and the done-when check."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from typer.testing import CliRunner

from tools.hub import prompts
from ui.cli import app

runner = CliRunner()


def test_empty_query_is_a_clear_error():
    r = runner.invoke(app, ["hub", "search", "datasets", "", "--json", "--bm25-only"])
    assert r.exit_code == 2 and "empty query" in r.output and "Traceback" not in r.output


def test_bad_kind_is_refused():
    r = runner.invoke(app, ["hub", "search", "models", "x", "--kind", "vision"])
    assert r.exit_code == 2 and "--kind" in r.output


def test_catalog_search_json(tmp_path):
    d = tmp_path / "cat" / "support_tickets"
    d.mkdir(parents=True)
    (d / "train.csv").write_text("text,label\nI was charged twice,billing\nApp crashes,technical\n")
    (d / "README.md").write_text("# Support tickets\nCustomer support tickets labeled billing "
                                 "or technical.\n")
    r = runner.invoke(app, ["hub", "search", "datasets", "customer support tickets billing",
                            "--catalog", str(tmp_path / "cat"), "--bm25-only", "--json", "-k", "3"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert rows[0]["id"] == "support_tickets" and rows[0]["reachable"] is True
    assert {"id", "score", "why", "reachable"} <= set(rows[0])


def test_refresh_offline_exits_with_message():
    r = runner.invoke(app, ["hub", "refresh"])
    assert r.exit_code == 1 and "offline" in r.output


def test_prompts_are_pinned():
    msgs = prompts.rerank_messages("Classify questions", [("trec", "Question classification")])
    assert msgs[0] == ("system", prompts.RERANK_SYSTEM)
    assert msgs[1][1] == ("Task: Classify questions\n\nCandidates:\n1. trec: Question "
                          "classification\n\nRank the candidates.")
    msgs = prompts.mapping_messages("Sentiment", "classification", ["pos", "neg"],
                                    ["text", "label"], [{"text": "good", "label": 1}])
    assert msgs[1][1] == ("Task (classification): Sentiment\nLabels: pos, neg\nColumns: text, "
                          "label\nSample rows:\n{'text': 'good', 'label': '1'}\n\n"
                          "Which column is the input and which is the output?")


def test_eval_metrics_and_protocol(tmp_path):
    from evals.retrieval import main, score_query

    m = score_query(["a", "x", "b", "y", "z", "c"], {"a", "b", "c"})
    assert m["P@5"] == pytest.approx(0.4) and m["R@5"] == pytest.approx(2 / 3)
    assert m["MAP@5"] == pytest.approx((1 + 2 / 3) / 3) and m["MRR@5"] == 1.0
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(d) for d in [
        {"id": "Old", "description": "image segmentation of streets", "year": 2015},
        {"id": "New", "description": "image segmentation of streets and cars", "year": 2020},
        {"id": "Other", "description": "speech recognition", "year": None}]) + "\n")
    queries = tmp_path / "dev_queries.jsonl"
    queries.write_text(json.dumps({"query": "street image segmentation", "keyphrase_query": "x",
                                   "relevant_ids": ["Old"], "year": 2017}) + "\n")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["--corpus", str(corpus), "--queries", str(queries), "--mode", "bm25",
                     "--json", "--cache", str(tmp_path)]) == 0
    res = json.loads(buf.getvalue())
    assert res["MRR@5"] == 100.0  # "New" (2020) is dropped for a 2017 query
    assert main(["--corpus", str(corpus), "--queries", str(tmp_path / "acceptance_queries.jsonl")]) == 2


@pytest.mark.slow
def test_done_when_trec_in_top5_offline_on_shipped_snapshot():
    """The issue's acceptance check, on the shipped snapshot with the real MiniLM."""
    from tools.hub.snapshot import SNAPSHOT_DIR

    if not (SNAPSHOT_DIR / "datasets.emb.npz").exists():
        pytest.skip("snapshot vectors not built")
    r = runner.invoke(app, ["hub", "search", "datasets",
                            "classify questions by the type of answer they expect", "--json"])
    assert r.exit_code == 0, r.output
    ids = [c["id"] for c in json.loads(r.stdout)][:5]
    assert any("trec" in i.lower() for i in ids), ids
