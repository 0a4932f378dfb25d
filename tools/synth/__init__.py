"""Synthetic training data with quality control and a data-quality report.

    est = estimate_round(spec, n, config, client)          # no call made; est.summary()
    n = examples_for(spec, seconds=600, calls=200, client=client)   # what a budget buys
    res = generate_round(spec, client, n=n, round=r, store=store, session_id=sid,
                         eval_inputs=test_inputs, existing=held, config=config,
                         on_progress=callback)
    res.accepted, res.examples                            # accepted / all (rejected kept)
    res.report.rows(), res.report.chart(), res.report.markdown(), res.report.warnings
    res = generate_targeted(spec, client, failures, n=n, round=r, ...)  # same keywords
    rows = annotate(spec, client, texts, sources)          # the teacher labels real text

Modules: `prompts` (every prompt), `plan` (deterministic requests), `attributes`
(the subject grid), `parse` (salvage items), `filters`, `consistency`, `embed`
(MiniLM near-dup), `diversity`, `budget` (estimate, spend), `state` (one round's
bookkeeping), `report`, `generator`, `annotate`.
"""

from tools.synth.budget import Estimate, estimate_round, examples_for, teacher_speed
from tools.synth.config import AttributeGrid, SynthConfig
from tools.synth.generator import RoundResult, generate_round, generate_targeted
from tools.synth.report import DataReport

__all__ = ["AttributeGrid", "DataReport", "Estimate", "RoundResult", "SynthConfig",
           "estimate_round", "examples_for", "generate_round", "generate_targeted", "teacher_speed"]
