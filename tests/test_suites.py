"""The benchmark harness keeps test rows out of training and demonstrations (evals/suites.py)."""

import json

from evals import suites


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_squad_scores_the_papers_rows_and_trains_on_the_rest(tmp_path):
    rows = [{"input": f"Question: q{i}? Context: c{i}", "output": f"a{i}", "hf_index": i}
            for i in range(0, 7000, 50)]
    _write(tmp_path / "squad_v1.1" / "test.jsonl", rows)
    train, test, labels = suites.task_data(suites.TASKS["squad"], tmp_path)
    assert test and all(1000 <= r["hf_index"] <= 5999 for r in test)
    assert train and not any(1000 <= r["hf_index"] <= 5999 for r in train)
    assert len(train) + len(test) == len(rows) and labels == []


def test_demonstrations_come_from_train_never_test(tmp_path):
    _write(tmp_path / "trec" / "train.jsonl",
           [{"input": f"train question {i}", "output": lab} for i, lab in enumerate(["HUM", "LOC", "NUM"] * 4)])
    _write(tmp_path / "trec" / "test.jsonl", [{"input": "secret test question", "output": "HUM"}])
    (tmp_path / "trec" / "labels.json").write_text(json.dumps(["HUM", "LOC", "NUM"]))
    t = suites.TASKS["trec"]
    train, _, labels = suites.task_data(t, tmp_path)
    desc = suites.description(t, train, labels)
    assert "secret test question" not in desc
    assert all(f"-> {lab}" in desc for lab in labels)  # one demonstration per label first


def test_test_only_task_demonstrates_from_rows_it_does_not_score(tmp_path):
    rows = [{"input": f"[Posted: 2013-01-0{i}] today", "output": f"today == 2013-01-0{i}"} for i in range(1, 9)]
    _write(tmp_path / "temporal_p2m" / "test.jsonl", rows)
    t = suites.TASKS["temporal"]
    train, test, _ = suites.task_data(t, tmp_path)
    assert len(train) == t.demos and not {r["input"] for r in train} & {r["input"] for r in test}


def test_mconala_retrieves_english_conala_and_catalog_holds_only_input_output(tmp_path):
    _write(tmp_path / "conala_en" / "train.jsonl",
           [{"input": "sort list x", "output": "x.sort()", "question_id": 1}])
    rows = suites.retrieved_rows(suites.TASKS["mconala"], [], tmp_path)
    assert rows[0]["output"] == "x.sort()"
    cat = suites.make_catalog(tmp_path / "cat", "conala_en", rows, "CoNaLa card")
    written = [json.loads(x) for x in (cat / "conala_en" / "train.jsonl").read_text().splitlines()]
    assert written == [{"input": "sort list x", "output": "x.sort()"}]
    assert "CoNaLa card" in (cat / "conala_en" / "README.md").read_text()


def test_sizes_per_mode_and_kind():
    assert suites.sizes_for("retrieved", False).synth_per_round == 0
    assert suites.sizes_for("synthetic", False).synth_per_round > 0
    assert suites.sizes_for("both", False, "generation").eval_rows < suites.sizes_for("both", False).eval_rows


def test_paper_anchor_printed_beside_ours_on_one_scale():
    text = suites.anchor_lines([
        {"task": "squad", "mode": "both", "metric": "exact_match", "student": {"value": 0.25}},
        {"task": "mconala", "mode": "retrieved", "metric": "chrf", "student": {"value": 20.5}},
        {"task": "trec", "mode": "both", "metric": "accuracy", "student": {"value": 0.9}},
    ])
    assert "ours 25.0 exact_match vs Prompt2Model's gpt-3.5-turbo anchor 42.1" in text
    assert "ours 20.5 chrf" in text and "37.3" in text
    assert "trec" not in text


def test_table_row_carries_counts_latencies_and_a_failure_reason():
    ok = {"task": "squad", "mode": "both", "metric": "exact_match", "chosen_data": ["squad_v1_1"],
          "student": {"value": 0.1, "low": 0.05, "high": 0.2, "n": 100, "params_m": 134.5, "latency_ms": 578.2},
          "teacher": {"value": 0.0, "n": 40, "params_m": 134.5, "latency_ms": 2004.6},
          "params_ratio": 1.0, "latency_ratio": 3.5, "spent": {"llm_calls": 3, "tokens": 10},
          "stages_s": {"train": 240.0}, "final_eval_s": 60.0, "wall_s": 400.0}
    bad = {"task": "temporal", "mode": "retrieved", "error": "train_failed"}
    lines = suites.table([ok, bad]).splitlines()
    assert "134.5 / 134.5 (1.0x)" in lines[2] and "578.2 / 2004.6 (3.5x)" in lines[2]
    assert "0.100 [0.050, 0.200] n=100" in lines[2] and "train 240.0, final eval 60.0" in lines[2]
    assert "failed: train_failed" in lines[3]


def test_a_subset_run_gets_its_own_results_section():
    full = suites.section_title("classification", suites.SUITES["classification"], list(suites.MODES))
    part = suites.section_title("classification", ["ag_news"], list(suites.MODES))
    other = suites.section_title("classification", ["sst2", "emotion"], ["synthetic", "both"])
    assert full == "Suite classification (issue 8)"
    assert len({full, part, other}) == 3 and "ag_news" in part and "synthetic, both" in other


def test_results_sections_are_replaced_by_title_and_others_kept(tmp_path):
    from evals.results import append_results

    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\n## A\n\nold a\n\n## B\n\nb stays\n")
    append_results("A", "new a", path)
    append_results("C", "c", path)
    text = path.read_text()
    assert "old a" not in text and text.count("## A") == 1 and "new a" in text
    assert "b stays" in text and text.rstrip().endswith("## C\n\nc")


def test_estimate_comparison_and_coverage_summary():
    from evals import estimate

    row = {"task": "sst2", "mode": "synthetic", "metric": "accuracy", "student": {"value": 0.81}}
    est = {"student": 0.85, "student_ci": [0.78, 0.9], "metric": "accuracy", "n": 120,
           "eval_source": "120 held-out synthetic examples from subjects never trained on (...)"}
    c = estimate.compare(row, est)
    assert c == {"estimate": 0.85, "estimate_ci": [0.78, 0.9], "estimate_source": "synthetic held-out",
                 "estimate_n": 120, "estimate_metric": "accuracy", "real": 0.81, "gap": 0.04, "inside": True}
    chrf = estimate.compare({"metric": "chrf", "student": {"value": 30.0}},
                            {"student": 0.5, "student_ci": [0.4, 0.6], "metric": "chrf", "eval_source": "x"})
    assert chrf["real"] == 0.3 and chrf["inside"] is False  # chrF compared on the same 0-1 scale
    other = estimate.compare({"metric": "macro_f1", "student": {"value": 0.5}}, {**est, "metric": "accuracy"})
    assert other["real"] is None  # different metrics are not compared
    both = estimate.compare({"metric": "macro_f1", "student": {"value": 0.5},
                             "student_in_spec_metric": {"metric": "accuracy", "value": 0.83}},
                            {**est, "metric": "accuracy"})
    assert both["real"] == 0.83 and both["inside"] is True  # the real split scored in the spec's metric too
    rows = [{**row, "estimate_cmp": c}, {"task": "t", "mode": "m", "estimate_cmp": chrf}]
    assert estimate.summary(rows).startswith("The real value lies inside the estimate's 95% interval "
                                             "in 1 of 2 runs (50%)")
    assert "| sst2 | synthetic | accuracy | 0.850 [0.780, 0.900] | synthetic held-out (120) | 0.810 | yes | +0.040 |" \
        in estimate.table(rows)
