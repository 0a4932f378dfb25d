"""Load dataset content from a local folder, a user's file, or the Hub: one interface.

`load_content(location, ...)` returns a `Content`: rows per split (plain dicts),
the config chosen, label names per column when known (ClassLabel, labels.json
or the README card). Unreadable files are skipped with a note, never fatal; a
Hub-only dataset while offline raises `ContentUnavailable` with what to do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".tsv")
SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation",
               "valid": "validation", "val": "validation", "dev": "validation",
               "test": "test", "testing": "test"}
MAX_ROWS = 100_000  # per split; a bigger file is cut (and said so), not loaded whole
ENCODING_SAMPLE = 65536  # bytes read to guess a text file's encoding
MAX_JSON_BYTES = 256 * 2**20  # CSV/TSV/JSONL/parquet are streamed; a .json document is not


class ContentUnavailable(Exception):
    """The content cannot be loaded now (offline, missing, unreadable); message says why."""


@dataclass
class Content:
    """Rows of one dataset config, by split, plus what is known about labels."""

    location: str
    splits: dict[str, list[dict]] = field(default_factory=dict)
    config: str | None = None
    configs: list[str] = field(default_factory=list)
    label_names: dict[str, list[str]] = field(default_factory=dict)
    label_descriptions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """Column names seen in the first rows of any split."""
        cols: dict[str, None] = {}
        for rows in self.splits.values():
            for r in rows[:20]:
                cols.update(dict.fromkeys(r))
        return list(cols)


def split_of(path: Path, root: Path) -> str | None:
    """Split named by the file stem or a parent folder ('train.jsonl', 'dev/part-0.csv')."""
    parts = [path.stem.lower()] + [p.lower() for p in path.relative_to(root).parts[:-1]]
    for p in parts:
        for token in re.split(r"[-_.]", p):
            if token in SPLIT_NAMES:
                return SPLIT_NAMES[token]
    return None


def data_files(folder: Path) -> list[Path]:
    """Data files under a dataset folder, skipping hidden ones and `original/` dumps."""
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).parts
        if (p.is_file() and p.suffix.lower() in DATA_SUFFIXES and p.name != "labels.json"
                and not any(x.startswith(".") or x == "original" for x in rel)):
            out.append(p)
    return out


def _text_encoding(path: Path) -> str:
    """utf-8 (with or without BOM), utf-16 by BOM, else latin-1 for legacy CSV exports.

    Only the first 64 KB are read: a file bigger than memory is fine. A file with NUL
    bytes and no UTF-16 BOM is binary: ValueError."""
    with path.open("rb") as f:
        head = f.read(ENCODING_SAMPLE)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[:len(head) // 2 * 2].decode("utf-16", errors="replace")
        if any(c in text for c in ",\t\n") and "\x00" not in text:
            return "utf-16"
        raise ValueError("binary content, not a text table")
    if b"\x00" in head:
        raise ValueError("binary content (NUL bytes), not a text file")
    try:
        head.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 4:  # a multi-byte character cut by the sample
            return "utf-8-sig"
        return "latin-1"


def read_rows(path: Path, limit: int = MAX_ROWS) -> list[dict]:
    """Rows of one CSV/TSV/JSONL/JSON/parquet file; raises ValueError with the reason."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":  # row batches up to `limit`: never the whole file at once
            import pyarrow.parquet as pq

            rows = []
            for batch in pq.ParquetFile(path).iter_batches(batch_size=min(limit, 10_000) or 1):
                rows += batch.to_pylist()[: limit - len(rows)]
                if len(rows) >= limit:
                    break
            return rows
        if suffix in (".csv", ".tsv"):
            import pandas as pd

            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", nrows=limit,
                             dtype=str, keep_default_na=False, encoding=_text_encoding(path),
                             on_bad_lines="skip")  # a ragged row is dropped, not the whole file
            return df.to_dict(orient="records")
        rows = []
        with path.open(encoding="utf-8") as f:
            if suffix == ".json":  # one JSON document is parsed whole: bound its size
                if path.stat().st_size > MAX_JSON_BYTES:
                    raise ValueError(f"a .json file over {MAX_JSON_BYTES // 2**20} MB is not read "
                                     "whole; save it as JSONL (one object per line), which is streamed")
                data = json.load(f)
                data = data.get("data", data) if isinstance(data, dict) else data
                rows = list(data)[:limit] if isinstance(data, list) else []
            else:
                bad = None
                for line in f:
                    if line.strip():
                        try:  # a malformed line is skipped, not the whole file
                            rows.append(json.loads(line))
                        except ValueError as e:
                            bad = bad or e
                    if len(rows) >= limit:
                        break
                if bad is not None and not rows:
                    raise bad
                rows = [r for r in rows if isinstance(r, dict)] if bad is not None else rows
        if rows and not all(isinstance(r, dict) for r in rows[:50]):
            raise ValueError("rows are not JSON objects")
        return rows
    except (OSError, UnicodeDecodeError, ValueError, ImportError) as e:
        raise ValueError(f"{path.name}: cannot read ({type(e).__name__}: {str(e)[:120]})")
    except Exception as e:  # pyarrow / pandas parser errors have many types
        raise ValueError(f"{path.name}: cannot read ({type(e).__name__}: {str(e)[:120]})")


def read_card(folder: Path) -> tuple[dict, str]:
    """(front matter, body) of README.md (or SOURCE.md); ({}, '') when none or bad YAML."""
    for name in ("README.md", "SOURCE.md"):
        p = folder / name
        if not p.exists():
            continue
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}, ""
        meta = {}
        m = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.S)
        if m:
            import yaml

            try:
                meta = yaml.safe_load(m.group(1)) or {}
            except yaml.YAMLError:
                meta = {}
            text = text[m.end():]
        return (meta if isinstance(meta, dict) else {}), text
    return {}, ""


def _labels_from_folder(folder: Path, meta: dict, content: Content) -> None:
    lj = folder / "labels.json"
    labels = meta.get("labels")
    descs = {}
    if lj.exists():
        try:
            data = json.loads(lj.read_text())
            labels = data.get("labels", labels) if isinstance(data, dict) else data
            descs = data.get("descriptions", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            content.notes.append("labels.json: unreadable, ignored")
    if isinstance(labels, list) and labels:
        content.label_names["*"] = [str(x) for x in labels]
    content.label_descriptions = {str(k): str(v) for k, v in (descs or {}).items()}


def load_local(location: str | Path, limit: int = MAX_ROWS) -> Content:
    """A dataset folder (split files or folders) or a single user file."""
    path = Path(location).expanduser()
    if not path.exists():
        raise ContentUnavailable(f"{path}: no such file or folder")
    content = Content(location=str(path))
    files = [path] if path.is_file() else data_files(path)
    root = path.parent if path.is_file() else path
    if path.is_dir():
        meta, _ = read_card(path)
        _labels_from_folder(path, meta, content)
    for f in files:
        try:
            rows = read_rows(f, limit)
        except ValueError as e:
            content.notes.append(str(e))
            continue
        split = split_of(f, root) or "train"
        content.splits.setdefault(split, []).extend(rows[: limit - len(content.splits.get(split, []))])
    if not content.splits:
        why = "; ".join(content.notes) or "no parquet/jsonl/csv files"
        raise ContentUnavailable(f"{path}: no readable rows ({why})")
    return content


def load_hub(hub_id: str, config: str | None = None, settings=None,
             limit: int = MAX_ROWS) -> Content:
    """Content through `datasets.load_dataset` (online only; never when offline)."""
    if settings is not None and settings.offline:
        raise ContentUnavailable(f"{hub_id}: on the Hub only and p2m is offline; "
                                 "point --catalog at a local copy or go online")
    try:
        import datasets

        configs = datasets.get_dataset_config_names(hub_id, token=_token(settings))
        config = config or (configs[0] if configs else None)
        dd = datasets.load_dataset(hub_id, config, token=_token(settings))
    except Exception as e:  # network, gated, missing: all become one clear message
        raise ContentUnavailable(f"{hub_id}: cannot load from the Hub ({type(e).__name__}: "
                                 f"{str(e)[:160]})")
    content = Content(location=hub_id, config=config, configs=list(configs or []))
    for split, ds in dd.items():
        name = SPLIT_NAMES.get(split, split)
        content.splits[name] = ds.select(range(min(limit, len(ds)))).to_list()
        for col, feat in ds.features.items():
            if getattr(feat, "names", None):
                content.label_names[col] = list(feat.names)
    return content


def _token(settings) -> str | None:
    tok = getattr(settings, "hf_token", None)
    return tok.get_secret_value() if tok else None


def load_content(location: str, config: str | None = None, settings=None,
                 limit: int = MAX_ROWS) -> Content:
    """Local path when it exists, else a Hub id (online only)."""
    if Path(location).expanduser().exists():
        return load_local(location, limit)
    return load_hub(location, config, settings, limit)
