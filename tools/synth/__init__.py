"""Synthetic training data with quality control and a data-quality report.

Public API: `generate_round`, `generate_targeted`, `estimate_round`,
`SynthConfig`, `RoundResult`, `DataReport`, `Estimate`.
"""

from tools.synth.budget import Estimate, estimate_round
from tools.synth.config import AttributeGrid, SynthConfig
from tools.synth.generator import RoundResult, generate_round, generate_targeted
from tools.synth.report import DataReport

__all__ = ["AttributeGrid", "DataReport", "Estimate", "RoundResult", "SynthConfig",
           "estimate_round", "generate_round", "generate_targeted"]
