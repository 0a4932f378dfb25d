"""Local catalogs: folders of real datasets the user points at (`--catalog DIR`).

A catalog DIR is either one dataset folder (data files or split folders inside)
or a folder of dataset folders. A dataset folder may carry a README.md (or
SOURCE.md) card whose YAML front matter names `hub_id:` (the Hub dataset it
mirrors), `license:`, `task:`/`task_categories:`, `language:` and `labels:`.
Catalog records are searchable like Hub records and always `reachable`.
"""

from __future__ import annotations

from pathlib import Path

from tools.hub.content import data_files, read_card
from tools.hub.records import clean_text


def _as_list(x) -> list[str]:
    if x is None:
        return []
    return [str(v) for v in (x if isinstance(x, list) else [x])]


def _is_dataset_folder(folder: Path) -> bool:
    """Data files directly inside, or in split folders ('train/part-0.parquet', 'data/...').

    A folder of dataset folders ('tasks/trec/train.jsonl') is a catalog, not a dataset.
    """
    from tools.hub.content import SPLIT_NAMES, split_of

    def rows_file(p: Path) -> bool:  # a stray MANIFEST.json is not a split
        return p.suffix.lower() != ".json" or split_of(p, folder) is not None

    return any(rows_file(p) and (p.parent == folder or (
        p.parent.parent == folder and (p.parent.name.lower() in SPLIT_NAMES or p.parent.name == "data")))
        for p in data_files(folder))


def catalog_record(folder: Path) -> dict:
    """One dataset folder -> a dataset record (source 'catalog', path set)."""
    meta, body = read_card(folder)
    hub_id = meta.get("hub_id")
    # Title line and the first real paragraph make the searchable description.
    lines = [ln for ln in body.splitlines() if ln.strip()]
    title = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else ""
    desc = meta.get("description") or " ".join(lines[1:12])
    tasks = _as_list(meta.get("task_categories")) + _as_list(meta.get("task"))
    lic = meta.get("license")
    return {
        "id": str(hub_id or folder.name),
        "name": str(meta.get("pretty_name") or title or folder.name),
        "description": clean_text(desc),
        "tasks": sorted(set(tasks)),
        "languages": _as_list(meta.get("language")),
        "license": str(lic) if lic else None,
        "size": None,
        "downloads": 0,
        "year": None,
        "gated": None,
        "source": "catalog",
        "path": str(folder.resolve()),
        "hub_id": str(hub_id) if hub_id else None,
    }


def scan_catalogs(dirs: list[str | Path]) -> tuple[list[dict], list[str]]:
    """Records for every dataset folder under the given catalog dirs, plus notes.

    A missing dir or an unreadable folder becomes a note; the rest still load.
    """
    records, notes = [], []
    for d in dirs:
        root = Path(d).expanduser()
        if not root.is_dir():
            notes.append(f"catalog {root}: not a folder, skipped")
            continue
        folders = [root] if _is_dataset_folder(root) else sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for folder in folders:
            try:
                if not data_files(folder):
                    notes.append(f"catalog {folder}: no parquet/jsonl/csv files, skipped")
                    continue
                records.append(catalog_record(folder))
            except OSError as e:
                notes.append(f"catalog {folder}: unreadable ({e.strerror or e}), skipped")
    return records, notes
