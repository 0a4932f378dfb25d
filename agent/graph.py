"""The agent's graph: nodes from agent/nodes, routers here, all wiring at the bottom.

    intake -> clarify <-> user -> confirm_spec <-> user -> find_data -> find_model
           -> generate -> verify (<-> user) -> train -> evaluate -> decide
    decide -> generate | train | clarify | export -> END
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph

from agent.context import AgentContext
from agent.nodes.clarify import clarify
from agent.nodes.confirm_spec import confirm_spec
from agent.nodes.decide import decide
from agent.nodes.evaluate import evaluate
from agent.nodes.export import export
from agent.nodes.find_data import find_data
from agent.nodes.find_model import find_model
from agent.nodes.generate import generate
from agent.nodes.intake import intake
from agent.nodes.train import train
from agent.nodes.verify import verify
from agent.state import AgentState


def after_intake(state: AgentState) -> Literal["clarify", "__end__"]:
    """An unusable description ends the turn with the message intake wrote."""
    return END if state.get("error") else "clarify"


def after_step(state: AgentState) -> Literal["continue", "__end__"]:
    """A data-plane step that failed for a reason the user must fix ends the run."""
    return END if state.get("error") else "continue"


NODES = {"intake": intake, "clarify": clarify, "confirm_spec": confirm_spec,
         "find_data": find_data, "find_model": find_model, "generate": generate,
         "verify": verify, "train": train, "evaluate": evaluate, "decide": decide, "export": export}


def build_graph(overrides: dict | None = None) -> StateGraph:
    """The uncompiled graph (compile with a checkpointer in agent.sessions).

    `overrides` swaps node functions by name (tests script the data plane).
    """
    n = {**NODES, **(overrides or {})}
    g = StateGraph(AgentState, context_schema=AgentContext)
    g.add_node("intake", n["intake"])
    g.add_node("clarify", n["clarify"], destinations=("clarify", "confirm_spec", END))
    g.add_node("confirm_spec", n["confirm_spec"],
               destinations=("confirm_spec", "find_data", "generate"))
    g.add_node("find_data", n["find_data"])
    g.add_node("find_model", n["find_model"])
    g.add_node("generate", n["generate"])
    g.add_node("verify", n["verify"])
    g.add_node("train", n["train"])
    g.add_node("evaluate", n["evaluate"])
    g.add_node("decide", n["decide"], destinations=("generate", "train", "clarify", "export"))
    g.add_node("export", n["export"])

    g.add_edge(START, "intake")
    # An empty description stops here; otherwise look for gaps in the spec.
    g.add_conditional_edges("intake", after_intake)
    # clarify, confirm_spec and decide route themselves with Command(goto=...).
    # Retrieval, then one round of generate -> train -> evaluate; a step that
    # cannot go on (no usable data, training failed) ends the run with its message.
    g.add_conditional_edges("find_data", after_step, {"continue": "find_model", END: END})
    g.add_conditional_edges("find_model", after_step, {"continue": "generate", END: END})
    g.add_conditional_edges("generate", after_step, {"continue": "verify", END: END})
    # The user may confirm a few teacher labels (a gold set) before training.
    g.add_edge("verify", "train")
    g.add_conditional_edges("train", after_step, {"continue": "evaluate", END: END})
    g.add_conditional_edges("evaluate", after_step, {"continue": "decide", END: END})
    g.add_edge("export", END)
    return g


def make_graph(checkpointer=None, overrides: dict | None = None):
    """Compiled graph; `langgraph.json` points at `graph` below for LangGraph Studio."""
    return build_graph(overrides).compile(checkpointer=checkpointer)


# For `langgraph dev` / LangGraph Studio (langgraph.json); the server adds its own checkpointer.
graph = make_graph()
