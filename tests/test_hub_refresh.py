"""`p2m hub refresh` against a local fake Hub: pagination, merge, and every failure mode."""

from __future__ import annotations

import json

import pytest

from tests.fakes.hub_server import FakeHub
from tools.hub.refresh import refresh
from tools.settings import Settings

DATASETS = [
    {"id": "acme/tickets", "description": "Support tickets labeled billing or technical.",
     "tags": ["task_categories:text-classification", "language:en", "license:mit"],
     "downloads": 10, "createdAt": "2024-05-01T00:00:00.000Z"},
    {"id": "acme/faq", "description": "FAQ question answer pairs.", "downloads": 3,
     "cardData": {"license": "apache-2.0", "pretty_name": "ACME FAQ"}},
    {"id": "acme/reviews", "description": "Product reviews with star ratings.", "downloads": 7},
]
MODELS = [
    {"id": "acme/tiny-bert-4M", "pipeline_tag": "text-classification", "downloads": 50},
    {"id": "acme/tiny-gpt-20M", "pipeline_tag": "text-generation", "downloads": 40},
    {"id": "acme/whisper", "pipeline_tag": "automatic-speech-recognition", "downloads": 99},
]


@pytest.fixture
def online(monkeypatch):
    """Let huggingface_hub make requests (conftest sets HF_HUB_OFFLINE for the process)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def _settings(hub: FakeHub, p2m_home, **kw) -> Settings:
    return Settings(home=p2m_home, offline=False, hf_endpoint=hub.url, **kw)


def _refresh(settings, **kw):
    return refresh(settings, embed=False, timeout=2.0, retries=0, wait=0.01, **kw)


def test_refresh_pages_and_merges_incrementally(online, p2m_home):
    with FakeHub(DATASETS, MODELS) as hub:
        rep = _refresh(_settings(hub, p2m_home, hf_token="hf_secret_token_123"))
        assert rep.errors == []
        assert rep.datasets == 3 and rep.models == 2  # ASR model is not trainable here
        assert any("cursor=2" in r for r in hub.requests)  # followed the Link header
        assert hub.auth_headers[0] == "Bearer hf_secret_token_123"
        saved = [json.loads(x) for x in (p2m_home / "hub" / "refreshed_datasets.jsonl").open()]
        tickets = next(r for r in saved if r["id"] == "acme/tickets")
        assert tickets["tasks"] == ["text-classification"] and tickets["license"] == "mit"
        faq = next(r for r in saved if r["id"] == "acme/faq")
        assert (faq["license"], faq["name"]) == ("apache-2.0", "ACME FAQ")  # from cardData
        assert rep.new == 5
        hub.datasets = DATASETS[:2] + [{**DATASETS[2], "description": "Changed text."}]
        rep2 = _refresh(_settings(hub, p2m_home))
        assert (rep2.new, rep2.changed) == (0, 1)


def test_refreshed_records_are_searchable(online, p2m_home, tmp_path):
    from tools.hub.search import search_datasets

    with FakeHub(DATASETS, MODELS) as hub:
        settings = _settings(hub, p2m_home)
        _refresh(settings)
    res = search_datasets("support tickets billing", settings=settings, dense=False, k=3,
                          snapshot_dir=tmp_path / "no_snapshot")
    assert res.candidates[0].id == "acme/tickets"
    assert res.candidates[0].reachable  # online: Hub content loadable


@pytest.mark.parametrize("mode,words", [("401", "HF_TOKEN"), ("404", "HF_ENDPOINT"),
                                        ("429", "rate limit"), ("500", "server error")])
def test_refresh_http_errors_are_clear(online, p2m_home, mode, words):
    with FakeHub(DATASETS, MODELS) as hub:
        hub.mode = mode
        rep = _refresh(_settings(hub, p2m_home))
    assert rep.datasets == 0 and rep.models == 0
    assert any(words in e for e in rep.errors), rep.errors
    assert not (p2m_home / "hub" / "refreshed_datasets.jsonl").exists()


def test_refresh_timeout_is_bounded_and_clear(online, p2m_home):
    with FakeHub(DATASETS, MODELS) as hub:
        hub.mode = "hang"
        rep = refresh(_settings(hub, p2m_home), embed=False, timeout=0.3, retries=0, wait=0.01)
    assert any("timeout" in e for e in rep.errors), rep.errors
    assert rep.seconds < 10  # one timeout per listing kind, not 5 retries x 8 s each


def test_failure_mid_listing_keeps_received_pages(online, p2m_home):
    with FakeHub(DATASETS, MODELS) as hub:
        hub.mode = "fail_page2"
        rep = _refresh(_settings(hub, p2m_home))
    assert rep.datasets == 2  # page 1 kept
    assert any("kept 2" in e for e in rep.errors)


def test_offline_never_touches_network(p2m_home):
    with FakeHub(DATASETS, MODELS) as hub:
        rep = refresh(Settings(home=p2m_home, offline=True, hf_endpoint=hub.url))
        assert hub.requests == []
    assert rep.errors and "offline" in rep.errors[0]


def test_live_search_timeout_mid_search_returns_local_results(online, p2m_home, tmp_path):
    from tools.hub.search import search_datasets
    from tools.hub.snapshot import write_jsonl_gz

    snap = tmp_path / "snap"
    write_jsonl_gz(snap / "datasets.jsonl.gz", [{"id": "local/tickets", "description":
                                                 "support tickets billing", "downloads": 1}])
    with FakeHub(DATASETS, MODELS) as hub:
        settings = _settings(hub, p2m_home)
        res = search_datasets("support tickets", settings=settings, dense=False, live=True,
                              snapshot_dir=snap)
        ids = [c.id for c in res.candidates]
        assert "local/tickets" in ids and "acme/tickets" in ids  # live hit merged
        assert any("search=" in r for r in hub.requests)
        hub.mode = "hang"
        res = search_datasets("support tickets", settings=settings, dense=False, live=True,
                              snapshot_dir=snap, live_timeout=0.5)
    assert [c.id for c in res.candidates] == ["local/tickets"]
    assert any("live Hub search stopped" in n and "timeout" in n for n in res.notes)
