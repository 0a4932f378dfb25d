"""A scripted data plane and a prompt-keyed fake LLM for graph and session tests.

The fake is keyed by the agent's prompts as literal text (pinned in
tests/test_agent_prompts.py), so an edited prompt fails the tests that use it.
"""

import json

from agent.context import AgentContext, Sizes
from agent.sessions import Sessions
from tests.fakes.chat import FakeChatModel
from tools.settings import Settings

TICKETS = "Classify support tickets as billing, technical or other. 'I was charged twice' -> billing"
PROPOSAL = json.dumps({"kind": "classification", "labels": ["billing", "technical", "other"],
                       "input_format": "a support ticket", "output_format": "one label"})
PROCEED = json.dumps({"action": "proceed", "question": ""})
INTAKE_PROMPT = ("Task description:\nClassify support tickets as billing, technical or other. "
                 "'I was charged twice' -> billing")
VAGUE = "Classify support tickets by what they are about."
VAGUE_PROMPT = "Task description:\nClassify support tickets by what they are about."
CLARIFY_PROMPT = (
    'Specification:\n{"instruction": "Classify support tickets as billing, technical or other.", '
    '"kind": "classification", "labels": ["billing", "technical", "other"], "input_format": '
    '"a support ticket", "output_format": "one label", "examples": 1}')


class Script:
    """Scripted data-plane nodes: student scores per round, optional one-time crash."""

    def __init__(self, scores=(0.9,), teacher=0.5, crash_at=None):
        self.scores, self.teacher, self.crash_at = list(scores), teacher, crash_at
        self.calls: list[str] = []

    def node(self, name, update_fn):
        def fn(state, runtime):
            self.calls.append(name)
            if self.crash_at == name:
                self.crash_at = None
                raise RuntimeError(f"simulated crash in {name}")
            return update_fn(state)
        return fn

    def overrides(self):
        def evaluate(state):
            r = state.get("round", 1)
            s = self.scores[min(r, len(self.scores)) - 1]
            entry = {"summary": {"round": r, "metric": "accuracy", "student": s,
                                 "teacher": self.teacher, "base": 0.2, "eval_source": "test"},
                     "result": {"run_id": f"r{r}", "model_path": "/m", "base_model": "b"}}
            fails = [{"name": "billing -> other", "count": 5, "examples": []}]
            return {"rounds": [entry], "best": entry, "failures": fails}
        return {
            "find_data": self.node("find_data", lambda s: {"chosen_data": [{"id": "d"}]}),
            "find_model": self.node("find_model", lambda s: {"chosen_model": {"id": "m"}}),
            "generate": self.node("generate", lambda s: {"round": s.get("round", 0) + 1}),
            "train": self.node("train", lambda s: {"last_run": {"run_id": "x", "model_path": "/m"}}),
            "evaluate": self.node("evaluate", evaluate),
            "export": self.node("export", lambda s: {"export_path": "/exports/x"}),
        }


def make(tmp_path, fake, script, autopilot=False, **budget):
    settings = Settings(home=tmp_path / "home")
    sessions = Sessions(settings, overrides=script.overrides())
    ctx = AgentContext.create(settings, chat_model=fake, autopilot=autopilot, sizes=Sizes.tiny())
    return sessions, ctx


def intake_fake(**extra):
    return FakeChatModel(responses={INTAKE_PROMPT: PROPOSAL, **extra})
