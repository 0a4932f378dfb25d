"""The whole loop, for real: embedded teacher, catalog retrieval, training, export.

Tiny sizes keep it to a few minutes on 2 cores; everything else is the product
path a user runs (`p2m run --yes`), in a subprocess with its own P2M_HOME.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.faults import make_catalog  # the same tiny support-ticket catalog as the fault harness


@pytest.mark.slow
def test_p2m_run_yes_exports_a_working_model(tmp_path, p2m_home):
    catalog = make_catalog(tmp_path / "catalog")
    env = {**os.environ, "P2M_HOME": str(p2m_home), "OMP_WAIT_POLICY": "PASSIVE"}
    desc = ("Classify customer support tickets as billing, technical or other. "
            "'I was charged twice' -> billing; 'The app crashes' -> technical")
    proc = subprocess.run([sys.executable, "-m", "ui.cli", "run", "--yes", "--tiny", "--json",
                           "--catalog", str(catalog), desc],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert out["done"] and not out["error"]
    folder = Path(out["export_path"])
    assert (folder / "model.safetensors").exists() and (folder / "README.md").exists()
    best = out["best"]
    assert "support_tickets" in best["eval_source"]  # the real test split of the catalog dataset
    assert best["teacher"] is not None and best["base"] is not None
    # the exported folder runs on its own
    pred = subprocess.run([sys.executable, str(folder / "predict.py"), "I was charged twice"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert pred.returncode == 0, pred.stderr[-2000:]
    assert json.loads(pred.stdout)["prediction"] in {"billing", "technical", "other"}
    # every example and call is on record
    rows = subprocess.run([sys.executable, "-m", "ui.cli", "sql", "--json",
                           "SELECT source, count(*) AS n FROM examples GROUP BY 1"],
                          env=env, capture_output=True, text=True, timeout=120)
    sources = {r["source"].split("/")[0].split("@")[0] for r in json.loads(rows.stdout)}
    assert any(s.startswith("retrieved:") for s in sources)
    # resumable from the chat front end: the finished session shows its result
    again = subprocess.run([sys.executable, "-m", "ui.cli", "report", out["session_id"]],
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "student" in again.stdout
