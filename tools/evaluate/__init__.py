"""Evaluation you can trust: student vs teacher vs base, with intervals.

    from tools.evaluate import evaluate
    result = evaluate(spec, model_path, test_rows, run_id="r1", client=llm_client)
    result.scores      # [student, teacher, base] SystemScore rows, same held-out rows
    result.failures    # grouped failing examples for the loop back
    unit_score(result, "student", spec.metric)   # 0-1, whatever the metric's own scale
"""

from tools.evaluate.metrics import compute
from tools.evaluate.prompts import parse_label, teacher_messages
from tools.evaluate.evaluation import evaluate, summary_table, unit_score

__all__ = ["compute", "evaluate", "parse_label", "summary_table", "teacher_messages", "unit_score"]
