"""Refresh the local Hub index from the live Hub (`p2m hub refresh`).

Fetches dataset and model metadata with `huggingface_hub.HfApi(endpoint, token)`
(`list_datasets(full=True)`, `list_models(pipeline_tag=...)` sorted by
downloads) and merges them into P2M_HOME/hub/refreshed_*.jsonl by id. New or
changed records are embedded once (their text hash is new) and cached.
Never touches the network when settings.offline. Errors (401/404/429/5xx,
timeouts) end that listing with a clear message and keep every page received.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from pydantic import BaseModel, Field

from tools.hub.local_index import hub_dir
from tools.hub.records import PIPELINE_ARCH, dataset_record, model_record


class RefreshReport(BaseModel):
    """What a refresh fetched, merged, and what went wrong."""

    datasets: int = 0
    models: int = 0
    new: int = 0
    changed: int = 0
    seconds: float = 0.0
    errors: list[str] = Field(default_factory=list)


def explain_http_error(e: Exception) -> str:
    """A one-line, secret-free explanation of a Hub failure."""
    status = getattr(getattr(e, "response", None), "status_code", None)
    name = type(e).__name__
    if status == 401 or status == 403:
        return f"Hub refused access (HTTP {status}): check HF_TOKEN"
    if status == 404:
        return "Hub endpoint not found (HTTP 404): check HF_ENDPOINT"
    if status == 429:
        return "Hub rate limit hit (HTTP 429): try again later"
    if status and status >= 500:
        return f"Hub server error (HTTP {status}): try again later"
    if "Timeout" in name or isinstance(e, TimeoutError):
        return "Hub did not answer in time (timeout)"
    if name in ("RemoteProtocolError", "ConnectError", "NetworkError"):
        return f"Hub connection failed ({name}): check the network or HF_ENDPOINT"
    if "Offline" in name:
        return "offline mode: the Hub was not contacted"
    return f"Hub request failed ({name})"


@contextlib.contextmanager
def bounded_http(timeout: float, retries: int, wait: float):
    """Cap huggingface_hub's per-request timeout and retry backoff for this block.

    huggingface_hub retries 429/5xx/timeouts 5 times with waits up to 8 s and no
    request timeout; a refresh should fail in seconds with a message instead.

    Why a private hook: the public API has no knob for either. `HfApi.list_datasets`
    and `list_models` page through `utils._pagination.paginate`, which calls the
    public `http_backoff` with `timeout=None` explicitly (so a client-level timeout set
    through the public `set_client_factory` is overridden) and with its default retry
    policy. Wrapping the `http_backoff` that module calls is the narrowest change that
    bounds both; everything else goes through `HfApi(endpoint=..., token=...)`.
    """
    from huggingface_hub.utils import _pagination

    orig_backoff = _pagination.http_backoff

    def backoff(method, url, **kw):
        kw.update(timeout=timeout, max_retries=retries, base_wait_time=wait,
                  max_wait_time=wait * 4)
        return orig_backoff(method, url, **kw)

    _pagination.http_backoff = backoff
    try:
        yield
    finally:
        _pagination.http_backoff = orig_backoff


def _merge(path: Path, records: list[dict], report: RefreshReport) -> None:
    """Merge records into a JSONL file by id; count new and changed ones."""
    old: dict[str, dict] = {}
    if path.exists():
        for line in path.open(encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                old[r["id"]] = r
    for r in records:
        prev = old.get(r["id"])
        report.new += prev is None
        report.changed += prev is not None and prev != r
        old[r["id"]] = r
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in old.values():
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _collect(it, convert, out: list, deadline: float) -> None:
    for raw in it:
        rec = convert(raw)
        if rec:
            out.append(rec)
        if time.monotonic() > deadline:
            raise TimeoutError("refresh time budget spent")


def _info_dict(info) -> dict:
    d = {k: v for k, v in vars(info).items() if not k.startswith("_")}
    for key in ("card_data", "cardData"):  # CardData objects -> plain dicts
        if hasattr(d.get(key), "to_dict"):
            d[key] = d[key].to_dict()
    return d


def refresh(settings, limit: int = 2000, models_per_tag: int = 300, timeout: float = 20.0,
            retries: int = 2, wait: float = 1.0, budget_s: float = 300.0,
            embed: bool = True) -> RefreshReport:
    """Fetch Hub metadata and merge it into the local index; never raises on Hub errors."""
    report = RefreshReport()
    t0 = time.monotonic()
    if settings.offline:
        report.errors.append("offline (P2M_OFFLINE/HF_HUB_OFFLINE): the Hub was not contacted")
        return report
    from huggingface_hub import HfApi

    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    api = HfApi(endpoint=settings.hf_endpoint, token=token)
    deadline = t0 + budget_s
    datasets: list[dict] = []
    models: list[dict] = []
    with bounded_http(timeout, retries, wait):
        try:
            _collect(api.list_datasets(full=True, sort="downloads", limit=limit),
                     lambda i: dataset_record(_info_dict(i), source="hub"), datasets, deadline)
        except Exception as e:  # keep pages already received
            report.errors.append(f"datasets: {explain_http_error(e)}; kept {len(datasets)}")
        for tag in PIPELINE_ARCH:
            try:
                _collect(api.list_models(pipeline_tag=tag, sort="downloads", limit=models_per_tag,
                                         cardData=True),
                         lambda i: model_record(_info_dict(i), source="hub"), models, deadline)
            except Exception as e:
                report.errors.append(f"models ({tag}): {explain_http_error(e)}")
                if "timeout" in report.errors[-1] or isinstance(e, TimeoutError):
                    break  # a hanging Hub would cost `timeout` per tag
    hd = hub_dir(settings)
    if datasets:
        _merge(hd / "refreshed_datasets.jsonl", datasets, report)
    if models:
        _merge(hd / "refreshed_models.jsonl", models, report)
    report.datasets, report.models = len(datasets), len(models)
    if embed and (datasets or models):
        _embed_new(settings)
    report.seconds = round(time.monotonic() - t0, 2)
    return report


def _embed_new(settings) -> None:
    """Build both indexes now so new records are embedded here, not at search time."""
    from tools.hub.records import dataset_text, model_text
    from tools.hub.local_index import get_index, load_records

    for kind, fn in (("datasets", dataset_text), ("models", model_text)):
        get_index(kind, load_records(kind, settings), fn, settings, max_embed=10**9)



def live_datasets(query_tokens: list[str], settings, timeout: float = 5.0,
                  per_token: int = 20) -> tuple[list[dict], list[str]]:
    """Hub datasets whose id matches the query's longest words (online search add-on).

    Returns (records, notes); a Hub failure or timeout mid-search becomes a note
    and the records fetched before it are kept.
    """
    if settings.offline:
        return [], []
    from huggingface_hub import HfApi

    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    api = HfApi(endpoint=settings.hf_endpoint, token=token)
    records: list[dict] = []
    words = sorted(set(query_tokens), key=len, reverse=True)[:2]
    with bounded_http(timeout, retries=0, wait=0.5):
        for w in words:
            try:
                _collect(api.list_datasets(search=w, full=True, sort="downloads", limit=per_token),
                         lambda i: dataset_record(_info_dict(i), source="hub"), records,
                         time.monotonic() + 2 * timeout)
            except Exception as e:
                return records, [f"live Hub search stopped: {explain_http_error(e)}; "
                                 "showing local results"]
    return records, []
