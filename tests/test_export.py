"""Export: safe names, a complete folder, fresh-process verification, Hub push."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures_models import cls_rows, text_rows, tiny_bert, tiny_llama, train_tiny
from tools.contracts import Example, MetricValue, RunResult, SystemScore, TaskSpec
from tools.export import ExportError, export_model, push_to_hub, sanitize_name

SPEC = TaskSpec(instruction="Classify the question type.", kind="classification", labels=["HUM", "LOC"])


@pytest.mark.parametrize("raw,safe", [("my model", "my-model"), ("../../etc/passwd", "etc-passwd"),
                                      ("a/b\\c", "a-b-c"), ("..", None), ("", None), ("ok_v1.2", "ok_v1.2")])
def test_export_names_are_sanitised(raw, safe):
    if safe is None:
        with pytest.raises(ExportError):
            sanitize_name(raw)
    else:
        assert sanitize_name(raw) == safe


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exp")
    bert = tiny_bert(tmp / "bert")
    res = train_tiny(tmp, "encoder_finetune", bert, cls_rows(), epochs=10)
    assert res["status"] == "completed", res["error"]
    return res["model_path"]


def result_for(path) -> RunResult:
    acc = MetricValue(value=0.9, low=0.85, high=0.95)
    return RunResult(run_id="r", model_path=str(path), base_model="tiny-bert",
                     scores=[SystemScore(system="student", name="s", metrics={"accuracy": acc}, n=100,
                                         latency_ms=1.0, params_m=0.03),
                             SystemScore(system="teacher", name="SmolLM2", metrics={"accuracy": MetricValue(
                                 value=0.4, low=0.3, high=0.5)}, n=100, latency_ms=300.0, params_m=134.5)])


def test_export_folder_is_complete_and_verified(tmp_path, trained):
    examples = [Example(input=r["input"], output=r["output"], source="retrieved:trec@default/1")
                for r in cls_rows(10)] + [Example(input="who is it", output="HUM", source="synthetic:1")]
    out = export_model(trained, SPEC, name="../Question Type!", result=result_for(trained),
                       examples=examples, exports_dir=tmp_path / "exports")
    assert out == (tmp_path / "exports" / "Question-Type").resolve()
    for f in ("model.safetensors", "config.json", "tokenizer.json", "p2m_model.json", "predict.py",
              "demo.py", "README.md", "p2m_result.json"):
        assert (out / f).exists(), f
    card = (out / "README.md").read_text()
    for part in ("## Intended use", "| retrieved:trec@default | 10 |", "| synthetic:1 | 1 |",
                 "0.900 (0.850-0.950)", "## Limits", "python predict.py", "matched the trained model"):
        assert part in card, part
    # The folder runs on its own, from any directory, without this repo on the path.
    proc = subprocess.run([sys.executable, str(out / "predict.py"), "where is the capital city"],
                          capture_output=True, text=True, cwd=tmp_path, check=False, env={"PATH": "/usr/bin:/bin",
                                                                               "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["prediction"] == "LOC"
    again = export_model(trained, SPEC, name="Question Type", exports_dir=tmp_path / "exports",
                         sample_inputs=["who is the person"])
    assert again.name == "Question-Type-2"  # never overwrites silently


def test_export_mismatch_fails_and_leaves_no_folder(tmp_path, trained, monkeypatch):
    from tools.export import folder

    monkeypatch.setattr(folder, "run_exported", lambda f, inputs, **kw: ["HUM"] * len(inputs))
    with pytest.raises(ExportError, match="disagrees"):
        export_model(trained, SPEC, name="bad", exports_dir=tmp_path / "ex",
                     sample_inputs=["where is the capital city"])
    assert not any((tmp_path / "ex").iterdir())


def test_export_refuses_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ExportError, match="not a trained p2m model"):
        export_model(tmp_path, SPEC, name="x", exports_dir=tmp_path / "ex")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["frozen_lr", "causal_full"])
def test_other_formats_export_and_verify(tmp_path, method):
    if method == "frozen_lr":
        base, rows, spec = tiny_bert(tmp_path / "b"), cls_rows(), SPEC
    else:
        base, rows = tiny_llama(tmp_path / "l"), text_rows()
        spec = TaskSpec(instruction="Echo the first word.", kind="generation")
    res = train_tiny(tmp_path, method, base, rows, epochs=2)
    out = export_model(res["model_path"], spec, name=method, exports_dir=tmp_path / "ex",
                       sample_inputs=[r["input"] for r in rows[:4]])
    assert "matched the trained model on 4 of 4" in (out / "README.md").read_text()


class FakeHfApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))
        return f"https://hub.example/{repo_id}"

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw["repo_id"], kw["folder_path"]))


def test_push_to_hub_calls_the_api_and_refuses_offline(tmp_path, trained):
    from tools.settings import Settings

    out = export_model(trained, SPEC, name="hubbed", exports_dir=tmp_path / "ex", sample_inputs=["who"])
    api = FakeHfApi()
    url = push_to_hub(out, "me/hubbed", settings=Settings(offline=False), api=api)
    assert url == "https://hub.example/me/hubbed"
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"] and api.calls[1][2] == str(out)
    with pytest.raises(ExportError, match="offline"):
        push_to_hub(out, "me/hubbed", settings=Settings(offline=True), api=api)
    with pytest.raises(ExportError, match="owner/model-name"):
        push_to_hub(out, "../evil", settings=Settings(offline=False), api=api)
