"""The state of one generation round: what was asked, what came back, what was kept.

`RoundState.process(request, reply)` turns one reply into Examples (item by item,
with every filter's verdict), updates the counters and the attribute grid, stores
the rows, and takes the snapshot that later requests are planned from. Replies
are processed strictly in request order, so the outcome of a round does not
depend on which request happened to finish first.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass
from typing import Iterable

from tools.contracts import Example, TaskSpec
from tools.llm.client import RateLimiter
from tools.llm.errors import LLMError
from tools.llm.structured import cached_json_schema, request_options
from tools.synth import filters as F
from tools.synth.attributes import more_topics
from tools.synth.budget import Spend
from tools.synth.config import AttributeGrid, SynthConfig, inputs_schema, pair_model, pairs_schema
from tools.synth.consistency import check_consistency
from tools.synth.parse import salvage
from tools.synth.plan import Request

MAX_TOPIC_REFRESHES = 2  # per label and round: new subjects asked when all are retired


@dataclass(frozen=True)
class Snapshot:
    """What planning may know after request `index` was processed."""

    by_label: dict
    rejected: dict
    rate: float
    retired: frozenset
    grid: AttributeGrid | None


def retired_for(retired: Iterable[str], label: str | None) -> frozenset[str]:
    """Subjects retired for `label` out of "label: subject" entries ('*' for text-to-text)."""
    prefix = f"{label if label is not None else '*'}: "
    return frozenset(r[len(prefix):] for r in retired if r.startswith(prefix))


def failure_pairs(failures: Iterable) -> list[tuple[str, str]]:
    """(input, expected output) pairs from Examples or dicts with input + expected/gold/output."""
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


class RoundState:
    """Counters, indexes and records of one round (see the module docstring)."""

    def __init__(self, spec: TaskSpec, client, *, n: int, round: int, store=None,
                 session_id: str | None = None, eval_inputs: Iterable[str] = (),
                 existing: Iterable[Example] = (), config: SynthConfig | None = None,
                 embedder: F.Embedder | None = None):
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self.spec, self.client, self.n, self.round = spec, client, n, round
        self.cfg = config or SynthConfig()
        self._schemas: dict[tuple[int, bool], type] = {}
        self.store, self.session_id = store, session_id
        thresholds = (self.cfg.near_dup_threshold, self.cfg.overlap_threshold)
        if embedder is None and any(t is not None for t in thresholds):
            from tools.synth.embed import minilm_embed as embedder
        self.seen = F.TextIndex(embedder, self.cfg.near_dup_threshold)
        self.evals = F.TextIndex(embedder, self.cfg.overlap_threshold)
        self.evals.add([t for t in eval_inputs if str(t).strip()])
        same_round = f"synthetic:{round}"  # a re-run replays its own round: not a duplicate
        self.seen.add([d.input for d in spec.demonstrations]
                      + [e.input for e in existing if e.source != same_round])
        self.format_rules = F.output_rules(spec)
        self.examples: list[Example] = []
        self.kept: list[Example] = []
        self.by_label: dict[str, int] = {}
        self.rejected_by_label: dict[str, int] = {}
        self.topic_seen: dict[str, int] = {}
        self.topic_dups: dict[str, int] = {}
        self.retired: set[str] = set()
        self.refreshes: dict[str, int] = {}
        self.grid: AttributeGrid | None = None
        self.grids: list[dict] = []
        self.planned_labels: dict[int, str | None] = {}
        self.snapshots: dict[int, Snapshot] = {}
        self.processed = 0
        self.items_asked = 0
        self.streak, self.errors, self.last_error, self.fail_streak = 0, 0, "", 0
        self.latencies: list[float] = []
        self.agreement: list[float] = []
        self.notes: list[str] = []
        self.spend = Spend(client, self.cfg)
        self.limiter = RateLimiter(self.cfg.rpm)

    # -- planning inputs ------------------------------------------------------
    def snapshot(self, index: int) -> Snapshot:
        """The state after request `index` (initial state for index < 0)."""
        if index < 0 or index not in self.snapshots:
            return Snapshot({}, {}, 1.0, frozenset(), self.grid)
        return self.snapshots[index]

    def retired_for(self, label: str | None) -> frozenset[str]:
        return retired_for(self.retired, label)

    def accepted_count(self) -> int:
        return len(self.kept)

    def acceptance(self) -> float:
        """Accepted items per requested item so far (1.0 before any reply)."""
        return len(self.kept) / self.items_asked if self.items_asked else 1.0

    def wants_more(self, in_flight: int) -> bool:
        """True while the target is not met, counting what in-flight requests will likely add."""
        expected = in_flight * self.cfg.items_per_request * max(self.acceptance(), 0.05)
        return len(self.kept) + expected < self.n

    def typical_latency(self) -> float:
        return statistics.median(self.latencies[-20:]) if self.latencies else 0.0

    def failing(self) -> bool:
        """The last `concurrency` requests to finish all failed."""
        return self.fail_streak >= self.cfg.concurrency

    def record_grid(self, grid: AttributeGrid) -> None:
        self.grids.append(grid.model_dump())

    # -- one request ----------------------------------------------------------
    def ask(self, req: Request) -> tuple[str, float]:
        """Send one request (worker thread); returns (raw reply, seconds)."""
        import time

        schema = self._schema(req)
        method = self.client.settings.structured_method
        t0 = time.monotonic()
        reply = self.client.invoke(
            req.messages, purpose="synth.targeted" if req.targeted else "synth.generate",
            temperature=req.temperature, seed=req.seed, bind=request_options(schema, method),
            max_tokens=self.cfg.gen_max_tokens(self.spec, len(req.items), req.label is None),
            schema=cached_json_schema(schema))
        raw = json.dumps(reply["tool_args"]) if reply.get("tool_args") is not None else reply["content"]
        return raw, time.monotonic() - t0

    def _schema(self, req: Request):
        # one class per shape: pydantic's create_model costs ~1 ms, paid on every request before
        k, inputs_only = len(req.items), req.label is not None and not req.targeted
        if (k, inputs_only) not in self._schemas:
            self._schemas[k, inputs_only] = (inputs_schema(k, self.cfg) if inputs_only
                                             else pairs_schema(self.spec, k, self.cfg))
        return self._schemas[k, inputs_only]

    def process(self, req: Request, reply) -> None:
        """Turn one reply into examples with verdicts; store them; take the snapshot."""
        self.items_asked += len(req.items)
        if isinstance(reply, LLMError):
            self.errors += 1
            self.last_error = str(reply)[:300]
            self.streak += 1
        else:
            raw, seconds = reply
            self.latencies.append(seconds)
            batch = self._examples(req, raw)
            self._filter(batch)
            gained = sum(e.accepted for e in batch)
            self.streak = 0 if gained else self.streak + 1
            self.examples.extend(batch)
            self._store(batch)
        self.snapshots[req.index] = Snapshot(dict(self.by_label), dict(self.rejected_by_label),
                                             self.acceptance(),
                                             frozenset(self.retired), self.grid)
        self.snapshots.pop(req.index - 4 * self.cfg.concurrency - 2, None)
        self.processed = req.index + 1

    def _examples(self, req: Request, raw: str) -> list[Example]:
        as_inputs = req.label is not None and not req.targeted
        good, bad = salvage(raw, "inputs" if as_inputs else "examples",
                            None if as_inputs else pair_model(self.spec, self.cfg))
        rid = _request_id(self.session_id, req)
        out = []
        for j, item in enumerate(good):
            attrs = req.items[j] if j < len(req.items) else {}
            text, output = (item, req.label) if as_inputs else (item.input, item.output)
            ex = Example(input=str(text).strip(), output=str(output).strip(),
                         source=f"synthetic:{self.round}", teacher=self._teacher(),
                         params={**req.params, **attrs, "item": j, "request_id": f"{rid}:{j}"},
                         accepted=False)
            ex.verdicts["parse"] = F.PASS
            out.append(ex)
        for j, (piece, why) in enumerate(bad):
            out.append(Example(input=piece, output="", source=f"synthetic:{self.round}",
                               teacher=self._teacher(), accepted=False,
                               params={**req.params, "item": len(good) + j,
                                       "request_id": f"{rid}:bad{j}"},
                               verdicts={"parse": f"malformed item: {why}"}))
        return out

    def _filter(self, batch: list[Example]) -> None:
        for ex in batch:
            if ex.verdicts["parse"] != F.PASS:
                continue
            ex.verdicts["label"], ex.output = F.check_label(self.spec, ex.output, ex.input)
            if ex.verdicts["label"] == F.PASS:
                ex.verdicts["length"] = F.check_length(self.spec, self.cfg, ex.input, ex.output)
            if ex.verdicts.get("length") == F.PASS and self.format_rules:
                ex.verdicts["format"] = F.check_format(self.format_rules, ex.output)
            if ex.verdicts.get("length") == F.PASS and ex.verdicts.get("format", F.PASS) == F.PASS:
                ex.verdicts["echo"] = F.check_echo(ex.input, ex.params)
        survivors = [e for e in batch if not _failed(e)]
        index = self.seen if self.seen.embedder is not None else self.evals
        vecs = index.embed([e.input for e in survivors])  # one encode call per request
        for k, ex in enumerate(survivors):
            vec = None if vecs is None else vecs[k]
            ex.verdicts["duplicate"] = self.seen.check(ex.input, vec, "an earlier input")
            self._count_topic(ex)
            if ex.verdicts["duplicate"] == F.PASS:
                self.seen.add([ex.input], None if vec is None else vec[None, :])
                ex.verdicts["eval_overlap"] = self.evals.check(ex.input, vec, "evaluation input")
        if self.cfg.consistency_k:
            self.agreement += check_consistency(self.spec, self.client, self.cfg,
                                                [e for e in batch if not _failed(e)], self.round)
        for ex in batch:
            ex.accepted = not _failed(ex)
            if ex.accepted:
                self.kept.append(ex)
                self.by_label[ex.output] = self.by_label.get(ex.output, 0) + 1
            elif (lab := ex.params.get("requested_label")) is not None:
                self.rejected_by_label[lab] = self.rejected_by_label.get(lab, 0) + 1

    def _count_topic(self, ex: Example) -> None:
        """Retire a subject the teacher keeps repeating itself on; refresh a label's subjects."""
        topic, label = ex.params.get("topic"), ex.params.get("requested_label")
        if not topic or ex.params.get("targeted"):
            return
        key = label if label is not None else "*"
        cell = (key, topic)  # a subject is retired for one label, not for all
        self.topic_seen[cell] = self.topic_seen.get(cell, 0) + 1
        self.topic_dups[cell] = self.topic_dups.get(cell, 0) + (ex.verdicts["duplicate"] != F.PASS)
        seen, dups = self.topic_seen[cell], self.topic_dups[cell]
        retired = self.retired_for(label)
        if seen < self.cfg.retire_after or dups / seen < self.cfg.retire_dup_rate or topic in retired:
            return
        self.retired.add(f"{key}: {topic}")
        self.notes.append(f"retired the subject {topic!r} for {key!r}: {dups} of {seen} items "
                          "were duplicates")
        if self.grid is None or any(t not in self.retired_for(label) for t in self.grid.for_label(label)):
            return
        if self.refreshes.get(key, 0) >= MAX_TOPIC_REFRESHES:
            return
        self.refreshes[key] = self.refreshes.get(key, 0) + 1
        fresh = more_topics(self.spec, self.client, label, self.grid.for_label(label),
                            self.cfg.topics_per_label, self.refreshes[key])
        if fresh:
            topics = dict(self.grid.topics)
            topics[key] = list(self.grid.for_label(label)) + fresh
            self.grid = self.grid.model_copy(update={"topics": topics})
            self.record_grid(self.grid)
            self.notes.append(f"asked the teacher for new subjects for {key!r}: got {len(fresh)}")

    # -- bookkeeping ------------------------------------------------------------
    def _teacher(self) -> str:
        try:
            return self.client.model_name
        except Exception:  # noqa: BLE001 - naming the teacher must not fail a round
            return "unknown"

    def _store(self, batch: list[Example]) -> None:
        if self.store is None or not batch:
            return
        self.store.record_many("examples", [{
            "id": _row_id(e.params["request_id"]), "session_id": self.session_id, "round": self.round,
            "input": e.input, "output": e.output, "split": e.split, "source": e.source,
            "teacher": e.teacher, "params": e.params, "verdicts": e.verdicts,
            "accepted": e.accepted} for e in batch])

    def progress(self, requests: int) -> dict:
        return {"round": self.round, "accepted": len(self.kept), "target": self.n,
                "requests": requests, "processed": self.processed, "errors": self.errors,
                "calls_paid": self.spend.calls, "cache_hits": self.spend.cache_hits}


def _failed(ex: Example) -> bool:
    return any(v != F.PASS for v in ex.verdicts.values())


def _request_id(session_id: str | None, req: Request) -> str:
    """Stable id of a request: a re-run records the same row ids (ignored by the store)."""
    blob = json.dumps([session_id, req.messages, req.seed, req.temperature], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _row_id(item_id: str) -> str:
    return hashlib.sha256(item_id.encode()).hexdigest()[:32]
