"""Dataset-retrieval eval with DataFinder's protocol.

    python -m evals.retrieval --corpus ../shared/data/retrieval/datafinder/corpus_pwc_datasets.jsonl \
        --queries ../shared/data/retrieval/datafinder/dev_queries.jsonl --field query --json

Protocol (DataFinder, Viswanathan et al. 2023): rank the corpus for each query,
drop datasets introduced after the query's year (documents with no year are
kept), score the top 5 against `relevant_ids` (corpus `id`s). P@5, R@5 (hits /
relevant), MAP@5 (sum of precision at each hit / relevant), MRR@5, in percent.
Applied to the shipped Anserini BM25 run this gives R@5 13.6 vs the published
13.2 (same P@5 and Success@5), close enough to trust comparisons.

Develop on dev_queries.jsonl only; the acceptance queries are reserved.
Corpus embeddings are cached (by text hash) under P2M_HOME/cache/retrieval.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from tools.hub.index import Doc, HybridIndex

_LINK = re.compile(r"\]\([^)]*\)")


def corpus_docs(path: Path) -> tuple[list[Doc], dict[str, int | None]]:
    """DataFinder corpus -> docs (name, variants, description, paper title) and years."""
    docs, years = [], {}
    for line in path.open():
        d = json.loads(line)
        variants = " ".join(v for v in d.get("variants") or [] if v != d["id"])
        desc = _LINK.sub("]", d.get("description") or "").replace("\r", " ")
        text = f"{d['id']}. {variants}. {desc} {d.get('intro_paper_title') or ''}"
        docs.append(Doc(d["id"], re.sub(r"\s+", " ", text).strip()))
        years[d["id"]] = d.get("year")
    return docs, years


def score_query(ranked: list[str], relevant: set[str], depth: int = 5) -> dict[str, float]:
    """P, R, AP, RR at `depth` for one query (fractions, not percent)."""
    hits = [d in relevant for d in ranked[:depth]]
    ap, found = 0.0, 0
    for i, h in enumerate(hits):
        if h:
            found += 1
            ap += found / (i + 1)
    n = max(1, len(relevant))
    rr = next((1 / (i + 1) for i, h in enumerate(hits) if h), 0.0)
    return {"P@5": sum(hits) / depth, "R@5": sum(hits) / n, "MAP@5": ap / n, "MRR@5": rr}


def evaluate(index: HybridIndex, years: dict, queries: list[dict], field: str,
             bm25_weight: float, dense_weight: float, reranker=None) -> dict:
    """Run every query with the year filter; mean metrics in percent plus latency."""
    ids = np.array(index.ids)
    doc_year = np.array([years.get(i) if years.get(i) is not None else -1 for i in ids])
    totals: dict[str, float] = {}
    latencies = []
    for q in queries:
        rel = set(q.get("relevant_ids") or [])
        if not rel:
            continue
        t0 = time.perf_counter()
        mask = (doc_year < 0) | (doc_year <= int(q.get("year") or 9999))
        hits = index.search(q[field], k=10 if reranker else 5, mask=mask,
                            bm25_weight=bm25_weight, dense_weight=dense_weight)
        ranked = [h.id for h in hits]
        if reranker:
            ranked = reranker(q[field], ranked)
        latencies.append(time.perf_counter() - t0)
        for k, v in score_query(ranked, rel).items():
            totals[k] = totals.get(k, 0.0) + v
    n = len(latencies)
    out = {k: round(100 * v / max(1, n), 1) for k, v in totals.items()}
    out.update(queries=n, latency_ms_mean=round(1000 * float(np.mean(latencies or [0])), 1),
               latency_ms_p95=round(1000 * float(np.percentile(latencies or [0], 95)), 1))
    return out


def make_llm_reranker(docs: list[Doc]):
    """Rerank the fused top 10 through tools.llm (embedded model unless an endpoint is set)."""
    from tools.contracts import Candidate
    from tools.hub.rerank import llm_rerank
    from tools.llm import LLMClient

    client = LLMClient()
    text = {d.id: d.text for d in docs}
    print(f"reranking with {client.model_name}", file=sys.stderr)

    def rerank(query: str, ranked: list[str]) -> list[str]:
        cands = [Candidate(kind="dataset", id=i, why=text[i][:200]) for i in ranked[:10]]
        out, note = llm_rerank(client, query, cands)
        if note:
            print(note, file=sys.stderr)
        return [c.id for c in out] + ranked[10:]

    return rerank


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns a process exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--queries", required=True, type=Path)
    ap.add_argument("--field", default="query", choices=["query", "keyphrase_query"])
    ap.add_argument("--mode", default="hybrid", choices=["hybrid", "bm25", "dense"])
    ap.add_argument("--bm25-weight", type=float, default=0.25)
    ap.add_argument("--limit", type=int, default=0, help="first N queries only")
    ap.add_argument("--cache", type=Path, default=None, help="embedding cache dir")
    ap.add_argument("--binary", action="store_true",
                    help="sign-bit doc vectors, as shipped in data/hub (measures the loss)")
    ap.add_argument("--rerank-sample", type=int, default=0,
                    help="also rerank the top 10 with the configured LLM on the first N "
                         "queries and report both on that sample")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if "acceptance" in args.queries.name:
        print("error: acceptance queries are reserved; develop on dev_queries.jsonl",
              file=sys.stderr)
        return 2
    if args.cache is None:
        from tools.settings import get_settings
        args.cache = get_settings().cache_dir / "retrieval"
    docs, years = corpus_docs(args.corpus)
    queries = [json.loads(line) for line in args.queries.open() if line.strip()]
    if args.limit:
        queries = queries[:args.limit]
    index = HybridIndex(args.cache, "datafinder", dense=args.mode != "bm25")
    t0 = time.perf_counter()
    stats = index.build(docs, progress=lambda i, n: print(f"embedding {i}/{n}", file=sys.stderr))
    build_s = time.perf_counter() - t0
    if args.binary and index.matrix is not None:
        index.matrix = np.where(index.matrix > 0, 1.0, -1.0).astype(np.float32) / np.sqrt(
            index.matrix.shape[1])
    if index.matrix is not None:
        index.dense_scores("warm up")  # load the embedder outside the timed queries
    bw = 0.0 if args.mode == "dense" else (1.0 if args.mode == "bm25" else args.bm25_weight)
    dw = 0.0 if args.mode == "bm25" else 1.0
    res = evaluate(index, years, queries, args.field, bw, dw)
    res.update(mode=args.mode, field=args.field, binary=args.binary, build_seconds=round(build_s, 1),
               embedded=stats.embedded, reused=stats.reused,
               bm25_seconds=round(stats.bm25_seconds, 2))
    if args.rerank_sample:
        sample = queries[:args.rerank_sample]
        res["rerank_sample"] = {
            "without": evaluate(index, years, sample, args.field, bw, dw),
            "with_llm": evaluate(index, years, sample, args.field, bw, dw,
                                 reranker=make_llm_reranker(docs)),
        }
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(" ".join(f"{k}={v}" for k, v in res.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
