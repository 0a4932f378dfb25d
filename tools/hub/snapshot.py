"""Build and read the compact Hub metadata snapshot shipped in `data/hub/`.

    python -m tools.hub.snapshot --from ../shared/data/hub/hf [--no-embed]

Writes `data/hub/datasets.jsonl.gz`, `data/hub/models.jsonl.gz` and, unless
--no-embed, `data/hub/datasets.emb.npz` / `models.emb.npz`: MiniLM vectors
quantized to sign bits (48 bytes per record) keyed by the hash of the indexed
text. They let a fresh clone run hybrid search at once; records whose text
changed (or new ones from `p2m hub refresh`) are embedded live and cached.
Models keep only trainable pipeline tags with at least MIN_MODEL_DOWNLOADS.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from tools.hub.index import text_hash
from tools.hub.records import dataset_record, dataset_text, model_record, model_text

SNAPSHOT_DIR = Path(__file__).resolve().parents[2] / "data" / "hub"
MIN_MODEL_DOWNLOADS = 10  # 11k of 29k trainable models; the rest are mostly abandoned forks


def read_jsonl_gz(path: Path) -> Iterator[dict]:
    """Records of a gzipped JSONL file; nothing when it is missing."""
    if not path.exists():
        return
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def write_jsonl_gz(path: Path, records: list[dict]) -> None:
    """Write records deterministically (mtime 0) so rebuilds diff cleanly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for r in records:
            gz.write((json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n").encode())


def load_seed_vectors(path: Path) -> dict[str, np.ndarray]:
    """Shipped sign-bit vectors -> {text hash: unit float vector}; {} when absent."""
    if not path.exists():
        return {}
    z = np.load(path)
    bits = np.unpackbits(z["bits"], axis=1)[:, : int(z["dim"])].astype(np.float32)
    vecs = (bits * 2 - 1) / np.sqrt(bits.shape[1])
    return dict(zip((k.hex() for k in z["keys"]), vecs))


def save_seed_vectors(path: Path, hashes: list[str], vectors: np.ndarray) -> None:
    """Pack vectors to sign bits; keys are 8-byte text hashes."""
    keys = np.array([bytes.fromhex(h) for h in hashes], dtype="S8")
    np.savez_compressed(path, keys=keys, bits=np.packbits(vectors > 0, axis=1),
                        dim=np.int32(vectors.shape[1]))


def build(src: Path, out: Path = SNAPSHOT_DIR, embed: bool = True) -> dict:
    """Rebuild the snapshot from the raw Hub metadata dump in `src`."""
    stats: dict = {}
    datasets, seen = [], set()
    for line in (src / "hf_datasets.jsonl").open():
        rec = dataset_record(json.loads(line))
        if rec and rec["id"] not in seen:
            seen.add(rec["id"])
            datasets.append(rec)
    models, seen = [], set()
    for line in (src / "hf_models.jsonl").open():
        rec = model_record(json.loads(line))
        if rec and rec["downloads"] >= MIN_MODEL_DOWNLOADS and rec["id"] not in seen:
            seen.add(rec["id"])
            models.append(rec)
    datasets.sort(key=lambda r: -r["downloads"])
    models.sort(key=lambda r: -r["downloads"])
    write_jsonl_gz(out / "datasets.jsonl.gz", datasets)
    write_jsonl_gz(out / "models.jsonl.gz", models)
    stats.update(datasets=len(datasets), models=len(models))
    if embed:
        from tools.hub.index import load_embedder

        model = load_embedder()
        for name, recs, fn in (("datasets", datasets, dataset_text), ("models", models, model_text)):
            t0 = time.perf_counter()
            texts = [fn(r) for r in recs]
            vecs = model.encode(texts, batch_size=64, normalize_embeddings=True,
                                show_progress_bar=sys.stderr.isatty())
            save_seed_vectors(out / f"{name}.emb.npz", [text_hash(t) for t in texts], vecs)
            stats[f"{name}_embed_seconds"] = round(time.perf_counter() - t0, 1)
    stats["bytes"] = {p.name: p.stat().st_size for p in sorted(out.glob("*")) if p.is_file()}
    return stats


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description="Rebuild data/hub/ from a raw Hub metadata dump.")
    ap.add_argument("--from", dest="src", type=Path, required=True,
                    help="folder with hf_datasets.jsonl and hf_models.jsonl")
    ap.add_argument("--out", type=Path, default=SNAPSHOT_DIR)
    ap.add_argument("--no-embed", action="store_true", help="skip the shipped dense vectors")
    args = ap.parse_args(argv)
    for f in ("hf_datasets.jsonl", "hf_models.jsonl"):
        if not (args.src / f).exists():
            print(f"error: {args.src / f} not found", file=sys.stderr)
            return 2
    print(json.dumps(build(args.src, args.out, embed=not args.no_embed), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
