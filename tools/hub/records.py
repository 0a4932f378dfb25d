"""Compact Hub metadata records: one shape for the snapshot, refreshes and catalogs.

A dataset record: id, name, description (truncated), tasks, languages, license,
size (size category or rows), downloads, created, source ("snapshot", "hub",
"catalog"), path (catalog folder), hub_id (what a catalog entry mirrors).
A model record: id, pipeline_tag, arch, params_m, license, languages, downloads.
`dataset_text` / `model_text` is what search indexes; the shipped dense vectors
are keyed by a hash of exactly that text, so changing it re-embeds (by design).
"""

from __future__ import annotations

import re

DESC_CHARS = 400  # enough for the snippet and MiniLM's 128 tokens

# Pipeline tags the trainer supports -> architecture family.
PIPELINE_ARCH = {
    "text-classification": "encoder",
    "fill-mask": "encoder",
    "feature-extraction": "encoder",
    "sentence-similarity": "encoder",
    "text2text-generation": "seq2seq",
    "text-generation": "causal",
}
# Which architectures can learn each task kind.
KIND_ARCHS = {
    "classification": ("encoder",),
    "extraction": ("seq2seq", "causal"),
    "generation": ("seq2seq", "causal"),
}
# Hub task categories that suggest a task kind (filters only; never required).
KIND_TASKS = {
    "classification": {"text-classification", "sentiment-classification", "topic-classification",
                       "intent-classification", "multi-class-classification",
                       "multi-label-classification", "natural-language-inference",
                       "zero-shot-classification", "fact-checking"},
    "extraction": {"question-answering", "extractive-qa", "token-classification",
                   "named-entity-recognition", "open-domain-qa", "closed-domain-qa"},
    "generation": {"text2text-generation", "text-generation", "summarization", "translation",
                   "conversational", "question-answering", "table-to-text", "paraphrase"},
}

_MD_NOISE = re.compile(r"(\[([^\]]*)\]\([^)]*\))|[#*`>|]+|-{3,}")
_WS = re.compile(r"\s+")
_PARAMS = re.compile(r"(?<![a-z0-9])(\d+(?:\.\d+)?)\s*([mb])(?![a-z])", re.I)


def clean_text(text: str | None, limit: int = DESC_CHARS) -> str:
    """Strip markdown noise, tables of contents and whitespace; cut to `limit` chars."""
    if not text:
        return ""
    lines = [ln for ln in str(text).splitlines()
             if not ln.strip().startswith(("- [", "* [", "## Table", "# Table"))]
    out = _MD_NOISE.sub(lambda m: m.group(2) or " ", "\n".join(lines))
    out = _WS.sub(" ", out).strip()
    out = re.sub(r"^Dataset Card for \S+\s*", "", out)
    return out[:limit].rsplit(" ", 1)[0] if len(out) > limit else out


def split_tags(tags: list[str] | None) -> dict[str, list[str]]:
    """Hub tags like 'language:en' -> {'language': ['en']}."""
    out: dict[str, list[str]] = {}
    for t in tags or []:
        if ":" in t:
            k, v = t.split(":", 1)
            out.setdefault(k, []).append(v)
    return out


def _num(x) -> int:
    try:
        return int(x) if x == x else 0  # NaN check
    except (TypeError, ValueError):
        return 0


def dataset_record(raw: dict, source: str = "snapshot") -> dict | None:
    """Normalize a raw Hub dataset entry (snapshot line or API object) to a record."""
    rid = str(raw.get("id") or "").strip()
    if not rid:
        return None
    tags = split_tags(raw.get("tags"))
    card = raw.get("cardData") or raw.get("card_data") or {}
    desc = raw.get("description") or raw.get("card_excerpt") or card.get("description") or ""
    tasks = sorted(set((raw.get("task_categories") or []) + (raw.get("task_ids") or [])
                       + tags.get("task_categories", []) + tags.get("task_ids", [])
                       + list(card.get("task_categories") or [])))
    lic = tags.get("license") or card.get("license") or raw.get("license")
    if isinstance(lic, list):
        lic = lic[0] if lic else None
    created = str(raw.get("created_at") or raw.get("createdAt") or "")
    year = re.search(r"(19|20)\d\d", created)
    return {
        "id": rid,
        "name": str(raw.get("pretty_name") or card.get("pretty_name") or ""),
        "description": clean_text(desc),
        "tasks": tasks,
        "languages": sorted(set(tags.get("language", []) + list(card.get("language") or []))),
        "license": lic,
        "size": (tags.get("size_categories") or [None])[0],
        "downloads": _num(raw.get("downloads")),
        "year": int(year.group(0)) if year else None,
        "gated": bool(raw.get("gated")) or None,
        "source": source,
    }


def dataset_text(rec: dict) -> str:
    """The text BM25 and the embedder see for a dataset."""
    words = re.sub(r"[/_\-.]+", " ", rec["id"])
    # Tasks go before the description: MiniLM reads 128 tokens and would cut them.
    tasks = ", ".join(t.replace("-", " ") for t in rec.get("tasks") or [])
    parts = [words, rec.get("name") or "", tasks, rec.get("description") or ""]
    return _WS.sub(" ", ". ".join(p for p in parts if p)).strip()


def guess_params_m(model_id: str, size_bytes: int | None = None) -> float | None:
    """Parameters in millions from the id ('-135M', '7b') or weights size (fp32)."""
    m = None
    for num, unit in _PARAMS.findall(model_id.split("/")[-1]):
        m = float(num) * (1000 if unit.lower() == "b" else 1)
    if m is None and size_bytes:
        m = round(size_bytes / 4 / 1e6, 1)  # fp32 weights; overestimates multi-format repos
    return m


def model_record(raw: dict, source: str = "snapshot") -> dict | None:
    """Normalize a raw Hub model entry; None when its pipeline is not trainable here."""
    rid = str(raw.get("id") or raw.get("modelId") or "").strip()
    tag = raw.get("pipeline_tag")
    if not rid or tag not in PIPELINE_ARCH:
        return None
    tags = split_tags(raw.get("tags"))
    card = raw.get("cardData") or raw.get("card_data") or {}
    lic = raw.get("license") or card.get("license") or (tags.get("license") or [None])[0]
    langs = raw.get("language") or card.get("language") or tags.get("language") or []
    if isinstance(langs, str):
        langs = [langs]
    return {
        "id": rid,
        "pipeline_tag": tag,
        "arch": PIPELINE_ARCH[tag],
        "params_m": guess_params_m(rid, raw.get("size_bytes")),
        "license": lic if isinstance(lic, str) else None,
        "languages": sorted(set(map(str, langs))),
        "downloads": _num(raw.get("downloads")),
        "source": source,
    }


def model_text(rec: dict) -> str:
    """The text BM25 and the embedder see for a model (ids carry most signal)."""
    words = re.sub(r"[/_\-.]+", " ", rec["id"])
    return f"{words}. {rec['pipeline_tag'].replace('-', ' ')} {rec['arch']}"
