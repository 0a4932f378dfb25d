"""Evaluation you can trust: student vs teacher vs base, with intervals.

    from tools.evaluate import evaluate
    result = evaluate(spec, model_path, test_rows, run_id="r1", client=llm_client)
    result.scores      # [student, teacher, base] SystemScore rows, same held-out rows
    result.failures    # grouped failing examples for the loop back
"""

from tools.evaluate.metrics import compute
from tools.evaluate.prompts import parse_label, teacher_messages
from tools.evaluate.report import evaluate, summary_table

__all__ = ["compute", "evaluate", "parse_label", "summary_table", "teacher_messages"]
