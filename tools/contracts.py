"""The shapes that cross module lines (DESIGN.md section 4).

Only these pydantic models travel between tools, the agent and the front ends.
Keep them small and serialisable: they are stored in DuckDB and in LangGraph
checkpoints as JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TaskKind = Literal["classification", "extraction", "generation"]
"""classification: input -> one of `labels`; extraction: input (often context +
question) -> a span or short answer; generation: any text-to-text."""

Split = Literal["train", "validation", "test"]

# Metric by kind, used when the spec does not name one.
DEFAULT_METRIC: dict[str, str] = {
    "classification": "accuracy",
    "extraction": "exact_match",
    "generation": "chrf",
}


class Demonstration(BaseModel):
    """One input -> output example the user gave with the description."""

    input: str
    output: str


class Budget(BaseModel):
    """What the user allows the product to spend before it must stop."""

    max_llm_calls: int = Field(default=400, ge=0, description="teacher calls, all purposes")
    max_tokens: int = Field(default=400_000, ge=0, description="prompt + completion tokens")
    max_minutes: float = Field(default=30.0, gt=0, description="wall time for the whole loop")
    max_rounds: int = Field(default=3, ge=1, description="generate/train/evaluate rounds")


class Constraints(BaseModel):
    """Limits on the student model."""

    max_params_m: float = Field(default=400.0, gt=0, description="max parameters, millions")
    max_latency_ms: float | None = None
    language: str = "en"


class TaskSpec(BaseModel):
    """What the user wants, pinned down. Versioned by the agent as it changes."""

    instruction: str = Field(description="the task in one or two sentences")
    kind: TaskKind = "generation"
    input_format: str = Field(default="text", description="what one input looks like")
    output_format: str = Field(default="text", description="what one output looks like")
    labels: list[str] = Field(default_factory=list, description="classification only")
    labels_exemplified: bool = Field(default=False, description="the description names only "
                                     "examples of its labels (\"for example\", \"such as\", \"...\")")
    label_count: int | None = Field(default=None, description="the number of labels the "
                                    "description states (\"77 intents\"), checked against `labels`")
    demonstrations: list[Demonstration] = Field(default_factory=list)
    metric: str = ""
    target: float | None = Field(default=None, description="metric value to reach; "
                                 "None: beat the teacher and the kind's minimum")
    constraints: Constraints = Field(default_factory=Constraints)
    budget: Budget = Field(default_factory=Budget)
    version: int = 1

    def model_post_init(self, _ctx) -> None:
        if not self.metric:
            self.metric = DEFAULT_METRIC[self.kind]


class Example(BaseModel):
    """One (input, output) pair the product saw or made, with where it came from.

    source: `user`, `retrieved:<dataset>@<config>/<row>` or `synthetic:<round>`.
    """

    input: str
    output: str
    split: Split = "train"
    source: str = "user"
    teacher: str | None = Field(default=None, description="model that wrote a synthetic row")
    params: dict = Field(default_factory=dict, description="generation params (temperature, ...)")
    verdicts: dict[str, str] = Field(default_factory=dict,
                                     description="filter name -> 'pass' or the reason it failed")
    accepted: bool = True


class Candidate(BaseModel):
    """A dataset or a base model found for the task."""

    kind: Literal["dataset", "model"]
    id: str
    score: float = 0.0
    why: str = Field(default="", description="snippet or reason it matched")
    size: str | None = Field(default=None, description="rows or parameters, human readable")
    license: str | None = None
    column_mapping: dict[str, str] = Field(default_factory=dict,
                                           description="task field (input/output) -> column")
    reachable: bool = Field(default=False, description="content can be loaded right now")
    location: str | None = Field(default=None, description="local path or hub id to load from")
    config: str | None = None
    split: str | None = None
    params_m: float | None = Field(default=None, description="models: parameters, millions")
    architecture: str | None = Field(default=None, description="models: encoder | causal | seq2seq")


class MetricValue(BaseModel):
    """A metric with its bootstrap 95% interval."""

    value: float
    low: float | None = None
    high: float | None = None


class SystemScore(BaseModel):
    """One row of the student / teacher / base comparison."""

    system: Literal["student", "teacher", "base"]
    name: str = Field(description="model id or path")
    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    latency_ms: float | None = Field(default=None, description="mean per example")
    params_m: float | None = None
    n: int = 0


class RunResult(BaseModel):
    """What one training + evaluation round produced."""

    run_id: str
    model_path: str
    base_model: str
    hyperparameters: dict = Field(default_factory=dict)
    metrics: dict[str, dict[str, MetricValue]] = Field(
        default_factory=dict, description="split -> metric -> value")
    scores: list[SystemScore] = Field(default_factory=list,
                                      description="student, teacher, base on the same held-out split")
    failures: list[dict] = Field(default_factory=list,
                                 description="failure groups: {name, count, examples}")
    train_seconds: float = 0.0
    size_mb: float | None = None
