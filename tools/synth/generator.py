"""Generate one round of synthetic training data with quality control.

    result = generate_round(spec, client, n=100, round=1, store=store, session_id=sid,
                            eval_inputs=[e.input for e in test_rows])
    result.accepted          # the examples to train on
    result.report.rows()     # the data-quality table; result.report.chart() a bar chart

A round plans requests in batches (the budget is checked before each), sends
them concurrently (a concurrency limit and a requests-per-minute limit; the
openai client inside honours 429 Retry-After with bounded retries), filters the
replies in request order, asks the teacher again for self-consistency, and
stores every example, accepted or rejected, as the batch finishes. Requests
are a pure function of (spec, round, index, earlier accepted examples), so a
killed round re-run with the same arguments replays paid calls from the cache
and re-records nothing twice (example ids are request hashes).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

from pydantic import BaseModel

from tools.contracts import Example, TaskSpec
from tools.llm.client import RateLimiter
from tools.llm.errors import LLMError, StructuredOutputError
from tools.synth import filters as F
from tools.synth import prompts
from tools.synth.attributes import fallback_attributes, propose_attributes
from tools.synth.budget import Spend, _embedded
from tools.synth.config import SynthConfig, answer_schema, pair_schema
from tools.synth.plan import Request, assign_labels, plan_generate, plan_targeted, request_seed
from tools.synth.report import DataReport, build_report


class RoundResult(BaseModel):
    """Every example a round made (accepted and rejected) and its report."""

    examples: list[Example]
    report: DataReport

    @property
    def accepted(self) -> list[Example]:
        return [e for e in self.examples if e.accepted]


def generate_round(spec: TaskSpec, client, *, n: int, round: int, store=None,
                   session_id: str | None = None, eval_inputs: Iterable[str] = (),
                   existing: Iterable[Example] = (), config: SynthConfig | None = None,
                   embedder: F.Embedder | None = None,
                   on_progress: Callable[[dict], None] | None = None) -> RoundResult:
    """Generate `n` accepted examples for `spec` (round numbers are unique per session).

    Fewer when the budget, the attempt limit (attempts_factor x n requests) or
    the stall detector ends the round first (`report.stopped` says which); a few
    more when the last batch does better than the acceptance rate so far.

    `eval_inputs`: inputs of every evaluation split (never generated again);
    `existing`: examples already held (not generated again; rows of this same
    round are ignored, since re-running a round replays it); `embedder`: texts ->
    normalised vectors (default: packaged MiniLM). Re-running with the same
    arguments after a crash costs no paid call for requests already answered.
    """
    return _Round(spec, client, n=n, round=round, store=store, session_id=session_id,
                  eval_inputs=eval_inputs, existing=existing, config=config,
                  embedder=embedder, on_progress=on_progress).run(targets=None)


def generate_targeted(spec: TaskSpec, client, failures: Iterable, *, n: int, round: int,
                      **kwargs) -> RoundResult:
    """Generate `n` examples near inputs the student got wrong (same kind, varied).

    `failures`: Examples (output = the correct answer) or dicts with "input"
    and "expected" (or "gold" as tools.evaluate writes, or "output"); the
    prediction is ignored. Their inputs count
    as evaluation inputs: a copy of a failing input is rejected. Other keyword
    arguments are those of `generate_round`.
    """
    pairs = _failure_pairs(failures)
    kwargs["eval_inputs"] = list(kwargs.get("eval_inputs", ())) + [i for i, _ in pairs]
    return _Round(spec, client, n=n, round=round, **kwargs).run(targets=pairs)


def _failure_pairs(failures: Iterable) -> list[tuple[str, str]]:
    pairs = []
    for k, f in enumerate(failures):
        if isinstance(f, Example):
            pairs.append((f.input, f.output))
            continue
        if not isinstance(f, dict) or not str(f.get("input") or "").strip():
            raise ValueError(f"failure #{k} needs an 'input' (an Example or a dict with "
                             f"'input' and 'expected'); got {str(f)[:80]!r}")
        expected = next((f[key] for key in ("expected", "gold", "output") if f.get(key) is not None),
                        None)
        if expected is None:
            raise ValueError(f"failure #{k} has no 'expected' (or 'gold', 'output') answer")
        pairs.append((str(f["input"]), str(expected)))
    if not pairs:
        raise ValueError("targeted generation needs at least one failing example")
    return pairs


class _Round:
    """State of one round: indexes, pool of accepted examples, counters."""

    def __init__(self, spec, client, *, n, round, store=None, session_id=None, eval_inputs=(),
                 existing=(), config=None, embedder=None, on_progress=None):
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self.spec, self.client, self.n, self.round = spec, client, n, round
        self.cfg = config or SynthConfig()
        self.store, self.session_id, self.on_progress = store, session_id, on_progress
        thresholds = (self.cfg.near_dup_threshold, self.cfg.overlap_threshold)
        if embedder is None and any(t is not None for t in thresholds):
            from tools.synth.embed import minilm_embed as embedder
        self.seen = F.TextIndex(embedder, self.cfg.near_dup_threshold)
        self.evals = F.TextIndex(embedder, self.cfg.overlap_threshold)
        self.evals.add([t for t in eval_inputs if str(t).strip()])
        same_round = f"synthetic:{round}"  # a re-run replays its own round: not a duplicate
        self.seen.add([d.input for d in spec.demonstrations]
                      + [e.input for e in existing if e.source != same_round])
        self.pair_schema = pair_schema(spec, self.cfg)
        self.answer_schema = answer_schema(spec, self.cfg)
        self.pool: list[Example] = []
        self.examples: list[Example] = []
        self.by_label_ok: dict[str, int] = {}
        self.by_label_bad: dict[str, int] = {}
        self.agreement: list[float] = []
        self.errors, self.last_error = 0, ""
        self.notes: list[str] = []
        self.spend = Spend(client, self.cfg)
        self.limiter = RateLimiter(self.cfg.rpm)

    # -- the loop -------------------------------------------------------------
    def run(self, targets: list[tuple[str, str]] | None) -> RoundResult:
        t0 = time.perf_counter()
        grid = self._grid() if targets is None and self.n > 0 else None
        per_request = (1 + self.cfg.parse_retries) * (1 + self.cfg.consistency_k)
        limit, stall = self.cfg.max_attempts(self.n), self.cfg.stall_limit()
        attempts, streak, stopped = 0, 0, "target reached"
        with ThreadPoolExecutor(max_workers=self.cfg.concurrency) as pool:
            self.pool_exec = pool
            while self._accepted() < self.n:
                if attempts >= limit:
                    stopped = f"attempt limit: {attempts} requests for a target of {self.n}"
                    break
                if streak >= stall:
                    stopped = (f"stalled: {streak} requests in a row gave no new usable example "
                               "(the teacher may be repeating itself)")
                    break
                remaining = self.n - self._accepted()
                rate = self._accepted() / attempts if attempts else 1.0
                size = min(self.cfg.batch(), limit - attempts, math.ceil(remaining / max(rate, 0.2)))
                size, why = self.spend.allowed_requests(size, per_request)
                if size <= 0:
                    stopped = f"budget reached ({why}); stopped cleanly before the next batch"
                    break
                reqs = self._plan(grid, targets, attempts, size)
                before, errors_before = self._accepted(), self.errors
                batch = self._batch(reqs)
                attempts += size
                gained = self._accepted() - before
                streak = 0 if gained else streak + size
                self._progress(attempts, len(batch))
                if self.errors - errors_before == size:
                    stopped = f"endpoint failing: every request of the last batch failed ({self.last_error})"
                    break
        report = build_report(
            self.examples, round_no=self.round, teacher=self._teacher(), target=self.n,
            requested=attempts, errors=self.errors, labels=list(self.spec.labels),
            consistency=self.agreement, spend=self.spend, seconds=time.perf_counter() - t0,
            stopped=stopped, embedded=_embedded(self.client), notes=self.notes)
        if self.store is not None:
            self.store.record("events", {"session_id": self.session_id, "kind": "data_report",
                                         "payload": report.model_dump(mode="json")})
        return RoundResult(examples=self.examples, report=report)

    def _accepted(self) -> int:
        return len(self.pool)

    def _teacher(self) -> str:
        try:
            return self.client.model_name
        except Exception:  # noqa: BLE001 - naming the teacher must not fail a round
            return "unknown"

    def _grid(self):
        if self.cfg.attributes is not None:
            return self.cfg.attributes
        if not self.cfg.propose_attributes or self.spend.allowed_requests(1, 1)[0] < 1:
            return fallback_attributes()
        grid, problem = propose_attributes(self.spec, self.client)
        if problem:
            self.notes.append(problem)
        return grid

    def _plan(self, grid, targets, start: int, size: int) -> list[Request]:
        if targets is not None:
            return [plan_targeted(self.spec, self.cfg, round=self.round, index=start + j,
                                  n=self.n, failures=targets) for j in range(size)]
        labels = assign_labels(list(self.spec.labels) if self.spec.kind == "classification" else [],
                               self.by_label_ok, self.by_label_bad, size, start)
        return [plan_generate(self.spec, self.cfg, grid, round=self.round, index=start + j,
                              n=self.n, pool=self.pool, label=labels[j]) for j in range(size)]

    def _map(self, fn, items: list) -> list:
        def one(item):
            self.limiter.wait()
            return fn(item)
        return list(self.pool_exec.map(one, items))

    # -- one batch -----------------------------------------------------------
    def _batch(self, reqs: list[Request]) -> list[Example]:
        replies = self._map(self._ask_pair, reqs)
        batch: list[Example] = []
        for req, reply in zip(reqs, replies):
            if isinstance(reply, LLMError) and not isinstance(reply, StructuredOutputError):
                self.errors += 1
                self.last_error = str(reply)[:300]
                continue  # no reply, no example: counted as an endpoint error
            batch.append(self._first_checks(req, reply))
        survivors = [e for e in batch if not self._failed(e)]
        index = self.seen if self.seen.embedder is not None else self.evals
        vecs = index.embed([e.input for e in survivors])  # one encode call per batch
        for k, ex in enumerate(survivors):
            vec = None if vecs is None else vecs[k]
            ex.verdicts["duplicate"] = self.seen.check(ex.input, vec, "an earlier input")
            if ex.verdicts["duplicate"] == F.PASS:
                self.seen.add([ex.input], None if vec is None else vec[None, :])
                ex.verdicts["eval_overlap"] = self.evals.check(ex.input, vec, "evaluation input")
        if self.cfg.consistency_k:
            self._consistency([e for e in batch if not self._failed(e)])
        for ex in batch:
            ex.accepted = not self._failed(ex)
            label_counts = self.by_label_ok if ex.accepted else self.by_label_bad
            lab = ex.params.get("requested_label")
            if lab:
                label_counts[lab] = label_counts.get(lab, 0) + 1
            if ex.accepted:
                self.pool.append(ex)
        self.examples.extend(batch)
        self._store(batch)
        return batch

    @staticmethod
    def _failed(ex: Example) -> bool:
        return any(v != F.PASS for v in ex.verdicts.values())

    def _ask_pair(self, req: Request):
        try:
            return self.client.structured(
                req.messages, self.pair_schema, purpose="synth.generate",
                temperature=req.temperature, max_tokens=self.cfg.gen_max_tokens(self.spec),
                retries=self.cfg.parse_retries, seed=req.seed)
        except LLMError as e:
            return e

    def _first_checks(self, req: Request, reply) -> Example:
        params = dict(req.params, request_id=_request_id(self.session_id, req))
        ex = Example(input="", output="", source=f"synthetic:{self.round}",
                     teacher=self._teacher(), params=params, accepted=False)
        if isinstance(reply, StructuredOutputError):
            # Never an empty row: keep what the teacher said, and why it was unusable.
            ex.input = (reply.last_reply or "(empty reply)")[:2000]
            ex.verdicts["parse"] = f"malformed reply: {str(reply)[:300]}"
            return ex
        ex.input, ex.output = reply.input.strip(), reply.output.strip()
        ex.verdicts["parse"] = F.PASS
        ex.verdicts["label"], ex.output = F.check_label(self.spec, ex.output, ex.input)
        if ex.verdicts["label"] == F.PASS:
            ex.verdicts["length"] = F.check_length(self.spec, self.cfg, ex.input, ex.output)
        return ex

    def _consistency(self, todo: list[Example]) -> None:
        k = self.cfg.consistency_k
        jobs = [(ex, j) for ex in todo for j in range(k)]
        answers = self._map(self._answer, jobs)
        for i, ex in enumerate(todo):
            got = answers[i * k:(i + 1) * k]
            votes = sum(1 for a in got if a is not None and F.agrees(self.spec, self.cfg, ex.output, a))
            self.agreement.append(votes / k)
            ex.params["consistency_answers"] = got
            ex.verdicts["consistency"] = F.PASS if votes * 2 > k else (
                f"{votes} of {k} teacher answers agree with {ex.output[:40]!r} "
                f"(answers: {[a if a is None else a[:40] for a in got]})")

    def _answer(self, job) -> str | None:
        ex, j = job
        try:
            got = self.client.structured(
                prompts.render_answer(self.spec, ex.input), self.answer_schema,
                purpose="synth.consistency",
                temperature=0.0 if j == 0 else self.cfg.consistency_temperature,
                max_tokens=self.cfg.output_chars(self.spec) // 3 + 24, retries=0,
                seed=None if j == 0 else request_seed("answer", self.round, ex.params["index"], j))
            return str(got.output)
        except LLMError:
            return None  # an unusable answer is a vote that does not agree

    # -- bookkeeping -------------------------------------------------------------
    def _store(self, batch: list[Example]) -> None:
        if self.store is None or not batch:
            return
        self.store.record_many("examples", [{
            "id": e.params["request_id"], "session_id": self.session_id, "round": self.round,
            "input": e.input, "output": e.output, "split": e.split, "source": e.source,
            "teacher": e.teacher, "params": e.params, "verdicts": e.verdicts,
            "accepted": e.accepted} for e in batch])

    def _progress(self, attempts: int, batch: int) -> None:
        if self.on_progress is not None:
            self.on_progress({"round": self.round, "accepted": self._accepted(), "target": self.n,
                              "requests": attempts, "batch": batch, "errors": self.errors,
                              "calls_paid": self.spend.calls, "cache_hits": self.spend.cache_hits})


def _request_id(session_id: str | None, req: Request) -> str:
    """Stable id of a request's example: a re-run records the same row id (ignored)."""
    blob = json.dumps([session_id, req.messages, req.seed, req.temperature], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
