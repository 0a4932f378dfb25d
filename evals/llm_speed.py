"""How fast does the LLM endpoint answer? Time to first token and output tokens/s.

    python -m evals.llm_speed --json                  # the embedded model (started if needed)
    python -m evals.llm_speed --concurrency 4 --json  # also N requests at once (synthetic-data load)
    OPENAI_BASE_URL=... OPENAI_API_KEY=... P2M_MODEL=... python -m evals.llm_speed --endpoint

Streams a handful of fixed prompts through langchain_openai.ChatOpenAI (the same
client the product uses). Per prompt: time to first content token (TTFT), output
tokens (from the server's usage), decode rate = tokens after the first / time
after the first. A server this script started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

PROMPTS = [
    "Write one sentence describing a customer support ticket about a double charge.",
    "List three common reasons a parcel delivery is late.",
    "Translate to French: The meeting is moved to Thursday afternoon.",
    "Give a short movie review with a positive sentiment.",
    "Explain in two sentences what a unit test is.",
]


def _stream_one(llm, prompt: str) -> dict:
    t0 = time.perf_counter()
    first = None
    tokens = 0
    text = []
    for chunk in llm.stream(prompt):
        if chunk.content and first is None:
            first = time.perf_counter()
        text.append(chunk.content or "")
        if chunk.usage_metadata:
            tokens = chunk.usage_metadata.get("output_tokens", 0)
    end = time.perf_counter()
    first = first or end
    decode = (tokens - 1) / (end - first) if tokens > 1 and end > first else None
    return {"ttft_s": round(first - t0, 3), "total_s": round(end - t0, 3),
            "output_tokens": tokens, "decode_tok_s": round(decode, 1) if decode else None,
            "chars": len("".join(text))}


def _summary(rows: list[dict]) -> dict:
    rates = [r["decode_tok_s"] for r in rows if r["decode_tok_s"]]
    ttft = [r["ttft_s"] for r in rows]
    return {"median_decode_tok_s": round(statistics.median(rates), 1) if rates else None,
            "median_ttft_s": round(statistics.median(ttft), 3),
            "max_ttft_s": max(ttft),
            "output_tokens": sum(r["output_tokens"] for r in rows)}


def measure(base_url: str, model: str, api_key: str = "unused", max_tokens: int = 96,
            concurrency: int = 1) -> dict:
    """Sequential pass over PROMPTS, plus one concurrent pass when concurrency > 1."""
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=base_url, api_key=api_key, model=model, temperature=0,
                     max_tokens=max_tokens, stream_usage=True, timeout=300)
    _stream_one(llm, "Say hi.")  # warm-up: first request pays one-off setup
    rows = [_stream_one(llm, p) for p in PROMPTS]
    out = {"model": model, "max_tokens": max_tokens, "sequential": _summary(rows),
           "per_prompt": rows}
    if concurrency > 1:
        prompts = [PROMPTS[i % len(PROMPTS)] for i in range(concurrency)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            crow = list(pool.map(lambda p: _stream_one(llm, p), prompts))
        wall = time.perf_counter() - t0
        out["concurrent"] = _summary(crow) | {
            "requests": concurrency, "wall_s": round(wall, 2),
            "aggregate_tok_s": round(sum(r["output_tokens"] for r in crow) / wall, 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the measurement against the embedded server (default) or the configured endpoint."""
    ap = argparse.ArgumentParser(description="LLM endpoint speed: TTFT and output tokens/s.")
    ap.add_argument("--json", action="store_true", help="Print JSON only.")
    ap.add_argument("--endpoint", action="store_true",
                    help="Measure OPENAI_BASE_URL / P2M_MODEL instead of the embedded model.")
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args(argv)

    from tools.settings import get_settings

    settings = get_settings()
    started = False
    if args.endpoint:
        if not settings.openai_base_url:
            ap.error("--endpoint needs OPENAI_BASE_URL (and usually OPENAI_API_KEY, P2M_MODEL)")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "unused"
        base_url, model = settings.openai_base_url, settings.model or "gpt-4o-mini"
    else:
        from tools.llm import embedded

        started = embedded.status(settings) is None
        t0 = time.perf_counter()
        info = embedded.ensure_running(settings)
        startup = time.perf_counter() - t0
        base_url, model, key = info.base_url, info.model, "unused"
    try:
        result = measure(base_url, model, key, args.max_tokens, args.concurrency)
    finally:
        if started:
            embedded.stop(settings)
    if not args.endpoint:
        result["server_start_s"] = round(startup, 2) if started else None
        result["threads"] = settings.embedded_threads
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        s = result["sequential"]
        print(f"{model}: decode {s['median_decode_tok_s']} tok/s, TTFT {s['median_ttft_s']} s "
              f"(median of {len(PROMPTS)} prompts)")
        if "concurrent" in result:
            c = result["concurrent"]
            print(f"{c['requests']} concurrent: {c['aggregate_tok_s']} tok/s aggregate, "
                  f"wall {c['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
