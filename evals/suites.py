"""Benchmark suites: the whole loop on autopilot, per task and data mode, scored on real test splits.

    python -m evals.suites --suite smoke --json          # TREC + SMS spam, 3 modes each
    python -m evals.suites --suite classification        # TREC, SST-2, AG News, emotion, SMS spam
    python -m evals.suites --suite paper                 # SQuAD, Temporal, MCoNaLa (slow here)
    python -m evals.suites --suite smoke --tasks trec --modes retrieved --tiny --no-write

For each task the description is the task's instruction plus 3-5 demonstrations drawn
from its train split. The product's own retrieval runs over its Hub index and a
`--catalog` temp folder holding ONLY that task's train split (the test split never
reaches the session's training data). Modes: `retrieved` (no synthetic examples),
`synthetic` (no catalog), `both`. The session trains and exports on autopilot; the
exported student is then scored on the task's real test split from
../shared/data/tasks, with the teacher and the untuned base on the same first rows.
Teacher: the configured endpoint (OPENAI_BASE_URL) or the embedded default.
Results print as a table and are appended to evals/RESULTS.md (with the command).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "tasks"
MODES = ("retrieved", "synthetic", "both")
EMBEDDED_TEACHER_PARAMS_M = 134.5  # SmolLM2-135M-Instruct (FACTS.md)
PAPER_ANCHORS = {"squad": 42.1, "temporal": 30.7, "mconala": 37.3}  # gpt-3.5-turbo, Prompt2Model


@dataclass
class SuiteTask:
    folder: str
    instruction: str
    kind: str = "classification"
    metric: str = "accuracy"
    train_file: str = "train.jsonl"
    card: str = ""
    demos: int = 4
    test_limit: int | None = 500  # student rows of the real test split
    teacher_limit: int = 60  # teacher and base rows (each teacher row is a call)
    retrieved_from: str = ""  # another task folder whose train split stands in for retrieved data


TASKS = {
    "trec": SuiteTask("trec", "Classify the question by the type of its answer: ABBR (abbreviation), "
                      "DESC (description), ENTY (entity), HUM (human), LOC (location) or NUM (numeric value).",
                      card="TREC question classification: questions labeled by answer type "
                           "(ABBR, DESC, ENTY, HUM, LOC, NUM)."),
    "sms_spam": SuiteTask("sms_spam", "Classify the SMS message as spam or ham.",
                          card="SMS Spam Collection: SMS messages labeled spam or ham.",
                          metric="macro_f1"),
    "sst2": SuiteTask("sst2", "Classify the sentiment of the movie review sentence as positive or negative.",
                      card="SST-2 movie review sentences with binary sentiment."),
    "ag_news": SuiteTask("ag_news", "Classify the news article by topic.", train_file="train_subset_alps.jsonl",
                         card="AG News: news articles labeled by topic."),
    "emotion": SuiteTask("emotion", "Classify the emotion expressed in the tweet.",
                         card="Tweets labeled with one emotion.", metric="macro_f1"),
    # Paper tasks: the causal student generates one row at a time (~1.4 s here), so fewer rows.
    "squad": SuiteTask("squad_v1.1", "Answer the question by copying the answer span from the context.",
                       kind="extraction", metric="exact_match", train_file="", demos=3, test_limit=100,
                       teacher_limit=40, card="SQuAD v1.1 reading comprehension: questions on Wikipedia "
                                              "paragraphs, answered by a span of the paragraph."),
    "temporal": SuiteTask("temporal_p2m", "Normalize the temporal expressions in the sentence, relative to "
                          "its posted date: list each as 'expression == YYYY[-MM[-DD]]', joined by ' | ', "
                          "or answer N/A when there is none.", kind="generation", metric="chrf",
                          train_file="", demos=3, test_limit=100, teacher_limit=40),
    # MCoNaLa has no Japanese train split; English CoNaLa is its training data (SOURCE.md).
    "mconala": SuiteTask("mconala_ja", "Write a one-line Python snippet that does what the Japanese "
                         "instruction says.", kind="generation", metric="chrf", train_file="", demos=3,
                         test_limit=100, teacher_limit=40, retrieved_from="conala_en",
                         card="CoNaLa: natural-language intents paired with one-line Python snippets."),
}
SUITES = {"smoke": ["trec", "sms_spam"],
          "classification": ["trec", "sst2", "ag_news", "emotion", "sms_spam"],
          "paper": ["squad", "temporal", "mconala"]}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def task_data(t: SuiteTask, data: Path = DATA) -> tuple[list[dict], list[dict], list[str]]:
    """(train rows, test rows, labels). A task without a train split demonstrates from test[:k]
    and is scored on the rest (the paper's test-only sets)."""
    d = data / t.folder
    test = read_jsonl(d / "test.jsonl")
    train = read_jsonl(d / t.train_file) if t.train_file and (d / t.train_file).exists() else []
    labels = []
    if (d / "labels.json").exists():
        lab = json.loads((d / "labels.json").read_text())
        labels = lab.get("labels", lab) if isinstance(lab, dict) else lab
    if t.folder == "squad_v1.1":  # Prompt2Model scored dev rows 1000-5999 (hf_index); the rest is ours
        scored = [r for r in test if 1000 <= int(r.get("hf_index", -1)) <= 5999]
        train, test = [r for r in test if not 1000 <= int(r.get("hf_index", -1)) <= 5999], scored or test
    if not train:
        train, test = test[:t.demos], test[t.demos:]
    return train, test, [str(x) for x in labels]


def description(t: SuiteTask, train: list[dict], labels: list[str], seed: int = 0) -> str:
    """Instruction + 3-5 demonstrations drawn from the train split (one per label first)."""
    rng = random.Random(seed)
    pool = list(train)
    rng.shuffle(pool)
    demos: list[dict] = []
    for lab in labels:
        hit = next((r for r in pool if str(r["output"]) == lab and r not in demos), None)
        if hit and len(demos) < max(t.demos, 5):
            demos.append(hit)
    for r in pool:
        if len(demos) >= max(3, t.demos):
            break
        if r not in demos:
            demos.append(r)
    shots = "; ".join(f"'{' '.join(str(r['input']).split())[:200]}' -> {r['output']}" for r in demos[:5])
    return f"{t.instruction} Examples: {shots}"


def make_catalog(root: Path, name: str, train: list[dict], card: str) -> Path:
    """A catalog folder holding only the train split of one task."""
    ds = root / name
    ds.mkdir(parents=True, exist_ok=True)
    with (ds / "train.jsonl").open("w", encoding="utf-8") as f:
        for r in train:
            f.write(json.dumps({"input": r["input"], "output": r["output"]}, ensure_ascii=False) + "\n")
    (ds / "README.md").write_text(f"---\nlicense: other\n---\n{card}\n", encoding="utf-8")
    return root


def retrieved_rows(t: SuiteTask, train: list[dict], data: Path = DATA) -> list[dict]:
    """What the `retrieved` catalog holds: the task's own train split, or a stand-in task's."""
    if t.retrieved_from:
        return read_jsonl(data / t.retrieved_from / "train.jsonl")
    return train


def sizes_for(mode: str, tiny: bool, kind: str = "classification", default: bool = False):
    """The run's Sizes: tiny, reduced (2,000 rows, 4 minutes), or the product's own defaults."""
    from agent.context import Sizes

    gen = kind != "classification"  # the in-loop check of a causal student generates row by row
    s = Sizes.tiny() if tiny else Sizes() if default else Sizes(
        synth_per_round=24, max_retrieved_rows=2000, eval_rows=40 if gen else 200, teacher_eval_rows=10,
        train_minutes=4.0)
    if mode == "retrieved":
        s.synth_per_round = 0
    return s


def run_one(task: str, mode: str, home: Path, work: Path, *, tiny: bool = False, data: Path = DATA,
            teacher_limit: int | None = None, test_limit: int | None = None, default_sizes: bool = False,
            budget: dict | None = None, teacher: str | None = None) -> dict:
    """One autopilot session for (task, mode), then the exported student on the real test split.

    `budget`: session budget fields (e.g. {"max_minutes": 20}); `teacher`: an embedded model
    name (P2M_EMBEDDED_MODEL) to teach with instead of the configured one."""
    from agent.context import AgentContext
    from agent.sessions import Sessions
    from tools.contracts import TaskSpec
    from tools.evaluate import evaluate
    from tools.settings import Settings

    t = TASKS[task]
    train, test, labels = task_data(t, data)
    desc = description(t, train, labels)
    catalogs = []
    if mode in ("retrieved", "both"):
        rows = retrieved_rows(t, train, data)
        name = (t.retrieved_from or t.folder).replace(".", "_")
        catalogs = [str(make_catalog(work / f"catalog-{task}", name, rows, t.card))]
    settings = Settings(home=home, **({"embedded_model": teacher} if teacher else {}))
    stages: dict[str, float] = {}
    last = [time.monotonic()]

    def on_event(kind, payload):
        if kind == "node":
            now = time.monotonic()
            stages[payload["node"]] = round(stages.get(payload["node"], 0.0) + now - last[0], 1)
            last[0] = now

    t0 = time.monotonic()
    sessions = Sessions(settings)
    ctx = AgentContext.create(settings, autopilot=True, sizes=sizes_for(mode, tiny, t.kind, default_sizes),
                              on_event=on_event)
    turn = sessions.start(desc, ctx, catalogs=catalogs, budget={"max_rounds": 1, **(budget or {})})
    st = turn.state
    row: dict = {"task": task, "mode": mode, "session_id": turn.session_id, "done": turn.done,
                 "error": st.get("error") or None, "stages_s": stages,
                 "session_s": round(time.monotonic() - t0, 1), "spent": st.get("spent"),
                 "chosen_data": [c.get("id") for c in st.get("chosen_data") or []],
                 "in_loop": (st.get("best") or {}).get("summary")}
    best = (st.get("best") or {}).get("result") or {}
    if not best.get("model_path"):
        row["message"] = turn.message[-500:]
        return row
    spec = TaskSpec.model_validate(st["spec"])
    rows = test[: (test_limit or t.test_limit) if tiny is False else 40]
    t1 = time.monotonic()
    # SQuAD rows list every acceptable answer: scored best-of, as the official script does
    scored = [{"input": r["input"], "output": r["output"], **({"answers": r["answers"]} if r.get("answers") else {})}
              for r in rows]
    result = evaluate(spec, best["model_path"], scored,
                      run_id=f"suite-{task}-{mode}", client=ctx.client,
                      teacher_limit=(teacher_limit or t.teacher_limit) if not tiny else 10,
                      base_model=best.get("base_model") or "")
    row["final_eval_s"] = round(time.monotonic() - t1, 1)
    have = result.scores[0].metrics if result.scores else {}
    metric = t.metric if t.metric in have else spec.metric  # the benchmark's metric, when the kind allows
    for s in result.scores:
        mv = s.metrics.get(metric)
        row[s.system] = {"n": s.n, "value": mv.value if mv else None, "low": mv.low if mv else None,
                         "high": mv.high if mv else None, "latency_ms": s.latency_ms, "params_m": s.params_m}
    sub = next((v for k, v in result.metrics.items() if "[:" in k), None)
    if sub and metric in sub:
        row["student_on_teacher_rows"] = sub[metric].value
    row["metric"] = metric
    if metric != spec.metric:  # the product's estimate is in the spec's metric: keep that value too
        sm = next((x.metrics.get(spec.metric) for x in result.scores if x.system == "student"), None)
        row["student_in_spec_metric"] = {"metric": spec.metric, "value": sm.value if sm else None}
    stu, tch = row.get("student") or {}, row.get("teacher") or {}
    tparams = tch.get("params_m") or (EMBEDDED_TEACHER_PARAMS_M if ctx.client.is_embedded else None)
    row["params_ratio"] = round(tparams / stu["params_m"], 1) if tparams and stu.get("params_m") else None
    row["latency_ratio"] = (round(tch["latency_ms"] / stu["latency_ms"], 1)
                            if tch.get("latency_ms") and stu.get("latency_ms") else None)
    calls = ctx.store.query("SELECT count(*) AS n, coalesce(sum(prompt_tokens + completion_tokens), 0) AS tok "
                            "FROM llm_calls WHERE NOT coalesce(cache_hit, false)")[0]
    row["llm_calls_total"], row["llm_tokens_total"] = int(calls["n"]), int(calls["tok"])
    row["teacher_model"] = ctx.client.model_name
    row["estimate_cmp"] = compare_estimate(row, st.get("estimate"))
    row["wall_s"] = round(time.monotonic() - t0, 1)
    return row


def compare_estimate(row: dict, estimate: dict | None) -> dict:
    from evals.estimate import compare

    return compare(row, estimate)


def fix_latency(rows: list[dict]) -> list[dict]:
    """Teacher answers are cached across a task's modes (paid once), so only the first mode
    measures the teacher's real latency: use that one for every mode of the task."""
    for key in {(r["task"], r.get("teacher_model")) for r in rows}:
        same = [r for r in rows if (r["task"], r.get("teacher_model")) == key]
        lat = max(((r.get("teacher") or {}).get("latency_ms") or 0.0) for r in same)
        for r in same:
            stu = r.get("student") or {}
            if lat and stu.get("latency_ms"):
                r["teacher_latency_ms"] = lat
                r["latency_ratio"] = round(lat / stu["latency_ms"], 1)
    return rows


def fmt(v, nd=3):
    return "-" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def _pair(student, teacher, ratio) -> str:
    return f"{fmt(student, 1)} / {fmt(teacher, 1)} ({fmt(ratio, 1)}x)" if student else "-"


def table(rows: list[dict]) -> str:
    header = ("| task | mode | metric | student (95% CI) | student on teacher rows | teacher | base | "
              "params M student / teacher (ratio) | ms per example student / teacher (ratio) | data | "
              "paid LLM calls (session) | tokens | stage seconds | wall s |")
    out = [header, "|" + "---|" * 14]
    for r in rows:
        s = r.get("student") or {}
        ci = f"{fmt(s.get('value'))} [{fmt(s.get('low'))}, {fmt(s.get('high'))}] n={s.get('n')}" if s else \
            f"failed: {r.get('error') or r.get('message', '')[:80]}"
        stages = ", ".join(f"{k} {v}" for k, v in (r.get("stages_s") or {}).items())
        if r.get("final_eval_s") is not None:
            stages += f", final eval {r['final_eval_s']}"
        sp, tch = r.get("spent") or {}, r.get("teacher") or {}
        tlat = r.get("teacher_latency_ms") or tch.get("latency_ms")
        out.append(f"| {r['task']} | {r['mode']} | {r.get('metric', '-')} | {ci} | "
                   f"{fmt(r.get('student_on_teacher_rows'))} | {fmt((r.get('teacher') or {}).get('value'))} "
                   f"(n={(r.get('teacher') or {}).get('n')}, {r.get('teacher_model') or '?'}) | "
                   f"{fmt((r.get('base') or {}).get('value'))} | "
                   f"{_pair(s.get('params_m'), tch.get('params_m'), r.get('params_ratio'))} | "
                   f"{_pair(s.get('latency_ms'), tlat, r.get('latency_ratio'))} | "
                   f"{', '.join(r.get('chosen_data') or []) or 'synthetic only'} | {sp.get('llm_calls')} | "
                   f"{sp.get('tokens')} | {stages} | {r.get('wall_s', r.get('session_s'))} |")
    return "\n".join(out)


def anchor_lines(rows: list[dict]) -> str:
    """Prompt2Model's published gpt-3.5-turbo scores beside ours (same metric, 0-100 scale)."""
    out = []
    for r in rows:
        anchor = PAPER_ANCHORS.get(r["task"])
        val = (r.get("student") or {}).get("value")
        if anchor is None:
            continue
        scale = 100.0 if r.get("metric") == "exact_match" else 1.0
        ours = "failed" if val is None else f"{val * scale:.1f}"
        out.append(f"- {r['task']} / {r['mode']}: ours {ours} {r.get('metric', '')} vs Prompt2Model's "
                   f"gpt-3.5-turbo anchor {anchor}")
    return "\n".join(out)


def section_title(suite: str, tasks: list[str], modes: list[str], tiny: bool = False) -> str:
    """The RESULTS.md section of one run. A run of a subset gets its own title, so it never
    replaces the section of a run over other tasks or modes (append_results replaces by title)."""
    subset = ""
    if sorted(tasks) != sorted(SUITES[suite]) or sorted(modes) != sorted(MODES):
        subset = f": {', '.join(tasks)} / {', '.join(modes)}"
    return f"Suite {suite}{subset}{' (tiny)' if tiny else ''} (issue 8)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.suites", description=__doc__.splitlines()[0])
    ap.add_argument("--suite", required=True, choices=sorted(SUITES))
    ap.add_argument("--tasks", default="", help="comma-separated subset of the suite's tasks")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (a check of the harness)")
    ap.add_argument("--sizes", choices=("reduced", "default"), default="reduced",
                    help="reduced: 2,000 retrieved rows, 4 training minutes; default: the product's own Sizes()")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="don't append to evals/RESULTS.md")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--keep", type=Path, default=None, help="keep P2M_HOMEs here (default: a temp dir)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="the session's wall-time budget (default: the product's 30)")
    ap.add_argument("--teachers", default="",
                    help="comma-separated embedded models to run each task with, side by side "
                         "(e.g. qwen2.5-coder-1.5b-instruct,smollm2-135m-instruct)")
    ap.add_argument("--estimate", action="store_true",
                    help="print and record how often the product's estimate covers the real value")
    args = ap.parse_args(argv)
    tasks = [x for x in args.tasks.split(",") if x] or SUITES[args.suite]
    modes = [m for m in args.modes.split(",") if m]
    root = args.keep or Path(tempfile.mkdtemp(prefix="p2m-suite-"))
    t0 = time.monotonic()
    rows = []
    teachers = [x for x in args.teachers.split(",") if x] or [None]
    budget = {"max_minutes": args.minutes} if args.minutes else {}
    homes = []
    for task in tasks:
        for teacher in teachers:
            # one home per task and teacher: a teacher's answers are cached across modes
            home = root / task / (f"home-{teacher}" if teacher else "home")
            homes.append(home)
            for mode in modes:
                try:
                    r = run_one(task, mode, home, root / task, tiny=args.tiny, data=args.data,
                                default_sizes=args.sizes == "default", budget=budget, teacher=teacher)
                except Exception as e:  # noqa: BLE001 - one failed task must not lose the others' numbers
                    r = {"task": task, "mode": mode, "error": f"{type(e).__name__}: {e}"[:300]}
                r.setdefault("teacher_model", teacher)
                rows.append(r)
                print(json.dumps(r, default=str) if args.json else table([r]).splitlines()[-1], flush=True)
    total = round(time.monotonic() - t0, 1)
    fix_latency(rows)
    from tools.llm.embedded import stop
    from tools.settings import Settings

    for home in homes:  # the embedded server outlives its clients by design: stop the suite's own
        try:
            stop(Settings(home=home))
        except Exception:  # noqa: BLE001 - cleanup only
            pass
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    body = table(rows)
    if anchors := anchor_lines(rows):
        body += "\n\n" + anchors
    if args.estimate:
        from evals import estimate as est

        body += ("\n\n**The product's estimate vs the real test split** (issue 14):\n\n"
                 + est.table(rows) + "\n\n" + est.summary(rows))
    if args.json:
        print(json.dumps({"suite": args.suite, "rows": rows, "wall_s": total}, default=str))
    else:
        print(body)
    if not args.no_write:
        from evals.results import append_results

        teacher = ", ".join(dict.fromkeys(r.get("teacher_model") or "?" for r in rows))
        cmd = "python -m evals.suites " + " ".join(argv if argv is not None else sys.argv[1:])
        title = section_title(args.suite, tasks, modes, args.tiny)
        if args.sizes == "default":  # its own section: never replaces the reduced-size run's
            title = title.replace(" (issue 8)", " at default sizes (issue 15)")
        append_results(title,
                       f"Command: `{cmd}`; teacher: {teacher}; total wall time {total} s. Demonstrations "
                       "from each train split; catalog = the train split only; scored on the real test "
                       "split (teacher and base on its first rows). One P2M_HOME per task: the LLM cache "
                       "is shared by its modes, so a later mode pays only for prompts not seen before "
                       "(`both` reuses the `synthetic` round's answers), and the teacher's latency is "
                       "the first mode's.\n\n" + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
