"""Synthetic training data with quality control and a data-quality report.

    est = estimate_round(spec, n, config, client)          # no call made; est.summary()
    res = generate_round(spec, client, n=n, round=r, store=store, session_id=sid,
                         eval_inputs=test_inputs, existing=held, config=config,
                         on_progress=callback)
    res.accepted, res.examples                            # accepted / all (rejected kept)
    res.report.rows(), res.report.chart(), res.report.markdown(), res.report.warnings
    res = generate_targeted(spec, client, failures, n=n, round=r, ...)  # same keywords

Modules: `prompts` (every prompt), `plan` (deterministic requests), `filters`,
`embed` (MiniLM near-dup), `budget` (estimate, spend), `report`, `generator`.
"""

from tools.synth.budget import Estimate, estimate_round
from tools.synth.config import AttributeGrid, SynthConfig
from tools.synth.generator import RoundResult, generate_round, generate_targeted
from tools.synth.report import DataReport

__all__ = ["AttributeGrid", "DataReport", "Estimate", "RoundResult", "SynthConfig",
           "estimate_round", "generate_round", "generate_targeted"]
