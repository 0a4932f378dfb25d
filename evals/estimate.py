"""How honest is the product's estimate? Its pre-export number vs the real test split.

For each suite row: the estimate the session showed (the exported model scored
once on held-out rows nothing was chosen on: value, 95% interval, source), the
real test-split value of the same model, whether the real value lies inside the
interval, and the signed gap (estimate - real). `summary` gives the share of
rows whose interval covers the real value, per source kind.
"""

from __future__ import annotations

from tools.evaluate.metrics import unit_value


def source_kind(source: str) -> str:
    s = (source or "").lower()
    if s.startswith("the real test split"):
        return "real test split"
    if "synthetic" in s:
        return "synthetic held-out"
    if "annotated" in s:
        return "teacher-annotated"
    if "verified" in s:
        return "user-verified"
    if "retrieved" in s:
        return "held-out retrieved rows"
    return "other"


def compare(row: dict, estimate: dict | None) -> dict:
    """The estimate's fields for a suite row, compared with the row's real student value."""
    if not estimate or estimate.get("student") is None:
        return {"estimate": None}
    metric = row.get("metric")
    real = (row.get("student") or {}).get("value")
    other = row.get("student_in_spec_metric") or {}
    if estimate.get("metric") != metric and other.get("metric") == estimate.get("metric"):
        metric, real = other["metric"], other.get("value")  # the suite's metric differs from the spec's
    out = {"estimate": estimate["student"], "estimate_ci": estimate.get("student_ci"),
           "estimate_source": source_kind(estimate.get("eval_source", "")),
           "estimate_n": estimate.get("n"), "estimate_metric": estimate.get("metric")}
    if real is None or estimate.get("metric") != metric:
        out["real"] = None  # a different metric the real split was not scored in: not comparable
        return out
    real = unit_value(metric, real)
    lo, hi = estimate.get("student_ci") or (None, None)
    out.update(real=round(real, 4), gap=round(estimate["student"] - real, 4),
               inside=lo is not None and hi is not None and lo <= real <= hi)
    return out


def table(rows: list[dict]) -> str:
    lines = ["| task | mode | metric | estimate [95% CI] | source (n) | real test split | inside | signed gap |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e = r.get("estimate_cmp") or {}
        if e.get("estimate") is None:
            lines.append(f"| {r['task']} | {r['mode']} | {r.get('metric', '-')} | - | - | - | - | - |")
            continue
        lo, hi = e.get("estimate_ci") or (None, None)
        f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        inside = "-" if e.get("real") is None else ("yes" if e["inside"] else "no")
        gap = "-" if e.get("gap") is None else f"{e['gap']:+.3f}"
        lines.append(f"| {r['task']} | {r['mode']} | {e.get('estimate_metric')} | {f(e['estimate'])} "
                     f"[{f(lo)}, {f(hi)}] | {e['estimate_source']} ({e.get('estimate_n')}) | "
                     f"{f(e.get('real'))} | {inside} | {gap} |")
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    """Coverage of the real value by the estimate's interval, overall and per source kind."""
    comp = [r["estimate_cmp"] for r in rows if (r.get("estimate_cmp") or {}).get("real") is not None]
    if not comp:
        return "No comparable estimate (no run exported a model scored in the suite's metric)."
    kinds = sorted({c["estimate_source"] for c in comp})
    parts = []
    for k in kinds:
        sub = [c for c in comp if c["estimate_source"] == k]
        parts.append(f"{k}: {sum(c['inside'] for c in sub)} of {len(sub)}, mean signed gap "
                     f"{sum(c['gap'] for c in sub) / len(sub):+.3f}")
    inside = sum(c["inside"] for c in comp)
    return (f"The real value lies inside the estimate's 95% interval in {inside} of {len(comp)} runs "
            f"({inside / len(comp):.0%}); " + "; ".join(parts) + ".")
