"""Trainers on tiny random models: methods, progress events, faults, time budget."""

from __future__ import annotations

import errno
import json

import pytest

from tests.fixtures_models import cls_rows, text_rows, tiny_bert, tiny_llama, train_tiny
from tools.train.config import choose_method


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    return tiny_llama(tmp_path_factory.mktemp("llama"))


def events(result_dir) -> list[dict]:
    return [json.loads(l) for l in (result_dir / "progress.jsonl").read_text().splitlines()]


def test_method_chosen_by_kind_and_size():
    assert choose_method("classification", 50, 3) == "frozen_lr"
    assert choose_method("classification", 5000, 6) == "encoder_finetune"
    assert choose_method("generation", 5000) == "causal_full"


def test_encoder_finetune_learns_and_streams_progress(tmp_path, bert):
    from tools.train.predictor import load

    res = train_tiny(tmp_path, "encoder_finetune", bert, cls_rows(), epochs=10)
    assert res["status"] == "completed", res["error"]
    assert res["validation"]["accuracy"] == 1.0
    assert res["best_checkpoint"]  # load_best_model_at_end picked a checkpoint
    model = load(res["model_path"])
    assert model.predict(["where is the capital city", "who was born in the year"]) == ["LOC", "HUM"]
    evs = events(tmp_path / "run")
    kinds = {e["event"] for e in evs}
    assert {"start", "step", "eval", "end"} <= kinds
    step = next(e for e in evs if e["event"] == "step" and e["step"] > 2)
    assert step["loss"] > 0 and step["eta_s"] is not None and step["max_steps"] > step["step"]


def test_frozen_lr_saves_a_deployable_encoder_plus_head(tmp_path, bert):
    from tools.train.predictor import load

    rows = cls_rows()
    res = train_tiny(tmp_path, "frozen_lr", bert, rows)
    assert res["status"] == "completed", res["error"]
    model = load(res["model_path"])
    assert model.format == "embedding-linear" and (tmp_path / "run/model/head.safetensors").exists()
    preds = model.predict([r["input"] for r in rows])
    assert sum(p == r["output"] for p, r in zip(preds, rows)) / len(rows) >= 0.8


def test_causal_prompt_tokens_are_masked(llama):
    from transformers import AutoTokenizer

    from tools.train.causal import encode_rows
    from tools.train.predictor import render_prompt

    tok = AutoTokenizer.from_pretrained(llama)
    [row], dropped = encode_rows(tok, [{"input": "hello friend", "output": "hello"}], "Echo.", 128)
    n_prompt = len(tok(render_prompt(tok, "Echo.", "hello friend"), add_special_tokens=False)["input_ids"])
    assert dropped == 0 and row["labels"][:n_prompt] == [-100] * n_prompt
    assert row["labels"][n_prompt:] == row["input_ids"][n_prompt:]
    assert row["labels"][-1] == tok.eos_token_id
    # An answer pushed past max_length entirely teaches nothing: dropped and counted.
    assert encode_rows(tok, [{"input": "hello friend", "output": "hello"}], "Echo.", n_prompt)[1] == 1


def test_causal_max_length_grows_to_hold_long_rows(llama):
    from transformers import AutoTokenizer

    from tools.train.causal import fit_max_length

    tok = AutoTokenizer.from_pretrained(llama)
    short = [{"input": "hello friend", "output": "hello"}] * 20
    long = [{"input": "Question: who is the person? Context: " + "the city of the river " * 40,
             "output": "the person"}] * 20
    assert fit_max_length(tok, short, "Echo.", 128) == 128
    n = fit_max_length(tok, long, "Echo.", 128)
    assert 128 < n <= 512  # a fixed 128 would cut every answer off (the row would be dropped)
    assert fit_max_length(tok, long, "Echo.", 128, cap=200) == 200


def test_causal_batch_shrinks_for_long_rows(tmp_path, llama):
    long = [{"input": "where is the capital city " * 25, "output": "the city"} for _ in range(24)]
    res = train_tiny(tmp_path, "causal_full", llama, long, epochs=1, batch_size=32)
    assert res["status"] == "completed", res["error"]
    assert 128 < res["max_length"] <= 256  # grown to fit, within the model's 256 positions
    assert res["batch_size"] < 32 and res["batch_size"] * res["max_length"] <= 4096


def test_causal_prediction_cuts_the_input_not_the_assistant_marker(llama):
    from tools.train.predictor import Predictor

    p = Predictor(llama, meta={"format": "causal-lm", "instruction": "Echo.", "max_new_tokens": 8})
    text = "where is the capital city " * 200  # far past the 256-position context
    prompt = p._prompt(text, 8)
    assert prompt.rstrip().endswith("assistant")
    assert len(p.tokenizer(prompt, add_special_tokens=False)["input_ids"]) <= 256 - 8
    assert p._prompt("hello friend", 8).count("hello friend") == 1  # short inputs untouched
    [out] = p.predict([text])
    assert isinstance(out, str)


@pytest.mark.parametrize("method", ["causal_full", "causal_lora"])
def test_causal_lm_trains_and_saves_plain_model(tmp_path, llama, method):
    from tools.train.predictor import load

    res = train_tiny(tmp_path, method, llama, text_rows(), epochs=2)
    assert res["status"] == "completed", res["error"]
    out = tmp_path / "run/model"
    assert (out / "model.safetensors").exists() and not (out / "adapter_config.json").exists()
    assert res["validation"]["loss"] < 7.0
    preds = load(out).predict(["hello friend"])
    assert len(preds) == 1 and isinstance(preds[0], str)


def test_empty_training_set_is_a_clear_error(tmp_path, bert):
    res = train_tiny(tmp_path, "encoder_finetune", bert, [])
    assert res["status"] == "failed" and res["error_kind"] == "data"
    assert "training set is empty" in res["error"]


def test_one_label_only_is_a_clear_error(tmp_path, bert):
    rows = [{"input": f"where is city {i}", "output": "LOC"} for i in range(20)]
    res = train_tiny(tmp_path, "encoder_finetune", bert, rows)
    assert res["status"] == "failed" and "only one label" in res["error"]


def test_label_outside_label_set_is_rejected(tmp_path, bert):
    res = train_tiny(tmp_path, "encoder_finetune", bert, cls_rows(), labels=["LOC", "NUM"])
    assert res["status"] == "failed" and "HUM" in res["error"]


def test_time_budget_stops_cleanly_and_keeps_best(tmp_path, bert):
    res = train_tiny(tmp_path, "encoder_finetune", bert, cls_rows(), epochs=50, time_budget_minutes=0.0)
    assert res["status"] == "stopped_time_budget" and res["stop_reason"] == "time_budget"
    assert res["global_step"] == 1  # stopped right after the first step...
    assert res["best_checkpoint"] and (tmp_path / "run/model/model.safetensors").exists()  # ...and saved


def test_oom_halves_the_batch_and_retries(tmp_path, bert, monkeypatch):
    from tools.train import encoder

    real = encoder.finetune
    tried = []

    def fake(cfg, base, train, val, labels, bs, store):
        tried.append(bs)
        if bs > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(cfg, base, train, val, labels, bs, store)

    monkeypatch.setattr(encoder, "finetune", fake)
    res = train_tiny(tmp_path, "encoder_finetune", bert, cls_rows(), epochs=1)
    assert tried == [8, 4, 2] and res["status"] == "completed" and res["batch_size"] == 2
    assert [e["batch_size"] for e in events(tmp_path / "run") if e["event"] == "oom_retry"] == [4, 2]


def test_oom_at_batch_one_gives_up():
    from tools.train.worker import with_batch_backoff

    def always(bs):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        with_batch_backoff(always, 4)
    with pytest.raises(ValueError):  # other errors are not retried
        with_batch_backoff(lambda bs: (_ for _ in ()).throw(ValueError("x")), 4)


def test_disk_full_on_checkpoint_is_a_clear_error(tmp_path, bert, monkeypatch):
    from transformers import Trainer

    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Trainer, "_save_checkpoint", full)
    res = train_tiny(tmp_path, "encoder_finetune", bert, cls_rows())
    assert res["status"] == "failed" and res["error_kind"] == "disk_full"
    assert "disk full" in res["error"] and "save_total_limit" in res["error"]


def test_progress_and_run_are_recorded_in_the_store(tmp_path, bert):
    store_mod = pytest.importorskip("tools.store")
    from tools.settings import get_settings

    res = train_tiny(tmp_path, "encoder_finetune", bert, cls_rows(), epochs=2, record_to_store=True,
                     session_id="s1")
    assert res["status"] == "completed"
    store = store_mod.Store(get_settings())
    kinds = {r["kind"]: r["n"] for r in store.query("select kind, count(*) n from events group by kind")}
    n_lines = len((tmp_path / "run/progress.jsonl").read_text().splitlines())
    assert kinds.get("train_progress") == n_lines  # every streamed event is also in the store
    [run] = store.query("select id, status, session_id from runs")
    assert run == {"id": "t-encoder_finetune", "status": "completed", "session_id": "s1"}


def test_causal_generation_stops_at_the_stop_strings_the_training_outputs_end_with(llama):
    from tools.train.causal import stop_strings
    from tools.train.predictor import Predictor, _cut

    assert stop_strings([{"output": "x = 1"}, {"output": "2024-01-02"}]) == ["\n"]
    assert stop_strings([{"output": "line one\nline two"}]) == []
    assert _cut("x = 1\nprint(x)", ["\n"]) == "x = 1"

    def generated(meta: dict) -> list[int]:
        p = Predictor(llama, meta={"format": "causal-lm", "instruction": "Echo.", "max_new_tokens": 40, **meta})
        real, seen = p.model.generate, []
        p.model.generate = lambda **kw: seen.append(out := real(**kw)) or out
        p.predict(["where is the capital city"])
        prompt = len(p.tokenizer(p._prompt("where is the capital city", 40), add_special_tokens=False)["input_ids"])
        return seen[0][0, prompt:].tolist(), p.tokenizer

    # the random model never emits EOS here: without a stop it runs to max_new_tokens
    free, tok = generated({})
    assert len(free) == 40
    # a token's text that the random model writes (its choice, not ours), new at step i, stops it there
    i = next(i for i in range(40) if (t := tok.decode(free[i])) and t not in tok.decode(free[:i]))
    assert len(generated({"stop_strings": [tok.decode(free[i])]})[0]) == i + 1


def test_trained_causal_meta_names_its_stops_and_a_p99_budget(tmp_path, llama):
    import json

    from tools.train.hf import FORMAT_FILE

    res = train_tiny(tmp_path, "causal_full", llama, text_rows(), epochs=1)
    assert res["status"] == "completed", res["error"]
    meta = json.loads((tmp_path / "run/model" / FORMAT_FILE).read_text())
    assert meta["stop_strings"] == ["\n"] and meta["eos_token"] == "<|im_end|>"
    assert 16 <= meta["max_new_tokens"] <= 24  # one-word outputs: the floor, not 64
