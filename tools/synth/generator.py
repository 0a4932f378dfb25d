"""Generate one round of synthetic training data with quality control.

    result = generate_round(spec, client, n=300, round=1, store=store, session_id=sid,
                            eval_inputs=[e.input for e in test_rows])
    result.accepted          # the examples to train on
    result.report.rows()     # the data-quality table; result.report.chart() a bar chart

Each request asks the teacher for several examples (one label, per-item subjects
and styles from the attribute grid). Requests stream: up to `concurrency` are in
flight, a new one starts as soon as one finishes, and replies are filtered in
request order (salvaged item by item, then label, length, duplicate, overlap and
optional self-consistency checks). Every example, accepted or rejected, is stored
as its request is processed. A request is a pure function of (spec, round, index)
and of a snapshot of earlier results taken at a fixed index, so a killed round
re-run with the same arguments replays paid calls from the cache and re-records
nothing twice (example ids are request hashes). The round ends at the target,
the attempt limit, a stall, the call/token budget or its time budget.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Iterable

from pydantic import BaseModel

from tools.contracts import Example, TaskSpec
from tools.llm.errors import LLMError
from tools.synth import filters as F
from tools.synth.attributes import fallback_attributes, propose_attributes
from tools.synth.config import SynthConfig
from tools.synth.plan import Request, pick_label, plan_generate, plan_targeted
from tools.synth.report import DataReport, build_report
from tools.synth.state import RoundState, failure_pairs, retired_for


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

    Fewer when the budget, the time budget, the attempt limit or the stall
    detector ends the round first (`report.stopped` says which); a few more when
    the requests in flight at the end do better than expected.

    `eval_inputs`: inputs of every evaluation split (never generated again);
    `existing`: examples already held (not generated again; rows of this same
    round are ignored, since re-running a round replays it); `embedder`: texts ->
    normalised vectors (default: packaged MiniLM).
    """
    st = RoundState(spec, client, n=n, round=round, store=store, session_id=session_id,
                    eval_inputs=eval_inputs, existing=existing, config=config, embedder=embedder)
    return _run(st, None, on_progress)


def generate_targeted(spec: TaskSpec, client, failures: Iterable, *, n: int, round: int,
                      **kwargs) -> RoundResult:
    """Generate `n` examples near inputs the student got wrong (same kind, varied).

    `failures`: Examples (output = the correct answer) or dicts with "input" and
    "expected" (or "gold", or "output"). Their inputs count as evaluation inputs:
    a copy of a failing input is rejected. Other keywords are generate_round's.
    """
    pairs = failure_pairs(failures)
    kwargs["eval_inputs"] = list(kwargs.get("eval_inputs", ())) + [i for i, _ in pairs]
    on_progress = kwargs.pop("on_progress", None)
    st = RoundState(spec, client, n=n, round=round, **kwargs)
    return _run(st, pairs, on_progress)


def _run(st: RoundState, targets, on_progress) -> RoundResult:
    cfg, t0 = st.cfg, time.monotonic()
    if targets is None and st.n > 0:
        st.grid = _grid(st)
    n_requests = cfg.max_requests(st.n)
    window = 2 * cfg.concurrency  # a request sees results up to `window` requests back
    per_request = 1 + cfg.items_per_request * cfg.consistency_k
    flight: dict[int, tuple[Request, object]] = {}
    done: dict[int, tuple[Request, object]] = {}
    nxt, stopped = 0, None
    with ThreadPoolExecutor(max_workers=cfg.concurrency) as pool:
        while True:
            # while requests fail in a row, fewer go out at once (an outage is not hammered)
            while stopped is None and len(flight) < cfg.concurrency - st.fail_streak:
                stopped = _why_stop(st, nxt, n_requests, per_request, t0, len(flight))
                # finished-but-unprocessed requests will add examples too: count them as in flight
                if stopped or st.processed < nxt - window or not st.wants_more(len(flight) + len(done)):
                    break
                req = _plan(st, targets, nxt, n_requests, window)
                flight[nxt] = (req, pool.submit(_ask, st, req))
                nxt += 1
            if not flight:
                if stopped is None and st.accepted_count() < st.n and nxt < n_requests and \
                        st.processed >= nxt:
                    continue  # the target moved out of reach of what was in flight: plan more
                break
            finished, _ = wait([f for _, f in flight.values()], return_when=FIRST_COMPLETED)
            for i in [i for i, (_, f) in flight.items() if f in finished]:
                req, fut = flight.pop(i)
                done[i] = (req, fut.result())
                # failures in a row, as they arrive (not in request order): for backing off
                st.fail_streak = st.fail_streak + 1 if isinstance(done[i][1], LLMError) else 0
            while st.processed in done:
                req, reply = done.pop(st.processed)
                st.process(req, reply)
                if on_progress is not None:
                    on_progress(st.progress(nxt))
            if stopped is None and st.failing():
                stopped = f"endpoint failing: the last {cfg.concurrency} requests failed ({st.last_error})"
    report = build_report(st, requested=nxt, stopped=stopped or "target reached",
                          seconds=time.monotonic() - t0)
    if st.store is not None:
        st.store.record("events", {"session_id": st.session_id, "kind": "data_report",
                                   "payload": report.model_dump(mode="json")})
    return RoundResult(examples=st.examples, report=report)


def _grid(st: RoundState):
    if st.cfg.attributes is not None:
        return st.cfg.attributes
    if not st.cfg.propose_attributes or st.spend.allowed_requests(1, 1)[0] < 1:
        return fallback_attributes(st.spec)
    grid, problems = propose_attributes(st.spec, st.client, st.cfg.topics_per_label)
    st.notes += problems
    st.record_grid(grid)
    return grid


def _why_stop(st: RoundState, index: int, n_requests: int, per_request: int, t0: float,
              in_flight: int) -> str | None:
    """Why no further request may start, or None (requests in flight count as spent)."""
    if index >= n_requests:
        return f"attempt limit: {index} requests for a target of {st.n}"
    if st.streak >= st.cfg.stall_limit():
        return (f"stalled: {st.streak} requests in a row gave no new usable example "
                "(the teacher may be repeating itself)")
    allowed, why = st.spend.allowed_requests(1 + in_flight, per_request)
    allowed -= in_flight
    if allowed < 1:
        return f"budget reached ({why}); stopped cleanly before the next request"
    if st.cfg.max_seconds is not None:
        elapsed = time.monotonic() - t0
        if elapsed + st.typical_latency() > st.cfg.max_seconds:
            return f"time budget: {elapsed:.0f} of {st.cfg.max_seconds:.0f} s used"
    return None


def _plan(st: RoundState, targets, index: int, n_requests: int, window: int) -> Request:
    if targets is not None:
        return plan_targeted(st.spec, st.cfg, round=st.round, index=index, n_requests=n_requests,
                             failures=targets)
    snap = st.snapshot(index - window - 1)
    labels = list(st.spec.labels) if st.spec.kind == "classification" else []
    planned = {}
    for j in range(max(0, index - window), index):  # planned after the snapshot
        lab = st.planned_labels.get(j)
        planned[lab] = planned.get(lab, 0) + 1
    label = pick_label(labels, snap.by_label, planned, snap.rate, st.cfg.items_per_request, index,
                       snap.rejected)
    st.planned_labels[index] = label
    return plan_generate(st.spec, st.cfg, snap.grid, round=st.round, index=index,
                         n_requests=n_requests, label=label, retired=retired_for(snap.retired, label))


def _ask(st: RoundState, req: Request):
    """The raw reply text of one request, or the LLMError it failed with (worker thread)."""
    st.limiter.wait()
    try:
        return st.ask(req)
    except LLMError as e:
        return e
