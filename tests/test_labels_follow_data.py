"""The label set follows the data: a dataset that holds the task's labels and more is adopted.

Unit cases for the comparison, the real find_data node over a catalog (the rest
of the data plane scripted), and the whole loop on autopilot exporting a model
over the data's full label set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.chat import FakeChatModel
from tests.fakes.graph_script import Script
from tools.contracts import Demonstration, TaskSpec
from tools.hub.labels import adopt, label_offer

ROWS = {"card_arrival": 40, "exchange_rate": 30, "pin_blocked": 20, "top_up_failed": 10}


def spec(labels, **kw):
    return TaskSpec(instruction="Classify banking queries.", kind="classification", labels=labels, **kw)


def test_a_data_set_that_contains_every_named_label_is_offered():
    offer = label_offer(spec(["Card arrival", "exchange rates"]), "bank", ROWS)
    assert offer.matched == {"Card arrival": "card_arrival", "exchange rates": "exchange_rate"}
    assert offer.labels == list(ROWS) and offer.rows_left_out == 30
    assert offer.reason == "every label you named is among them, with 2 more"
    assert "bank has 4 labels" in offer.message(spec(["Card arrival", "exchange rates"]))


def test_exemplified_labels_are_offered_even_when_one_is_missing_from_the_data():
    s = spec(["card_arrival", "lost_card"], labels_exemplified=True, label_count=5)
    offer = label_offer(s, "bank", ROWS)
    assert offer is not None and offer.spec_only == ["lost_card"]
    new, notes = adopt(s, offer)
    assert new.labels == [*ROWS, "lost_card"] and not new.labels_exemplified
    assert "the description says 5 labels; the task now has 5" not in notes  # 5 == 5
    assert notes[0].startswith("labels: the 4 of bank")


def test_no_offer_when_the_sets_agree_or_do_not_overlap():
    assert label_offer(spec(list(ROWS)), "bank", ROWS) is None
    assert label_offer(spec(["spam", "ham"]), "bank", ROWS) is None
    assert label_offer(spec(["card_arrival", "lost_card"]), "bank", ROWS) is None  # not implied


def test_adoption_respells_demonstrations_and_checks_the_stated_count():
    s = spec(["Card Arrival", "exchange_rate"], label_count=77,
             demonstrations=[Demonstration(input="my card is late", output="Card Arrival")])
    new, notes = adopt(s, label_offer(s, "bank", ROWS))
    assert new.demonstrations[0].output == "card_arrival"
    assert "spelled as in the data: Card Arrival -> card_arrival" in notes
    assert "the description says 77 labels; the task now has 4" in notes


def _catalog(root: Path) -> Path:
    ds = root / "banking_queries"
    ds.mkdir(parents=True)
    texts = {"card_arrival": "my card has not arrived yet", "exchange_rate": "what rate do you use for euros",
             "pin_blocked": "my pin is blocked", "top_up_failed": "my top up did not go through"}
    rows = [{"text": f"{t} ({i})", "label": lab} for lab, t in texts.items() for i in range(12)]
    for split, part in (("train", rows[::2]), ("test", rows[1::2])):
        (ds / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    (ds / "README.md").write_text("---\nlicense: cc0-1.0\n---\nBanking queries labeled by intent: "
                                  "card arrival, exchange rate, pin blocked, top up failed.\n")
    return root


DESC = ("Classify each banking query into one of our intent names, for example card_arrival or "
        "exchange_rate. 'where is my new card' -> card_arrival")


def test_find_data_adopts_the_catalogs_labels_on_autopilot_and_says_so(tmp_path):
    from agent.context import AgentContext, Sizes
    from agent.data_files import SessionData
    from agent.sessions import Sessions
    from tools.settings import Settings

    catalog = _catalog(tmp_path / "catalog")
    overrides = {k: v for k, v in Script().overrides().items() if k != "find_data"}
    settings = Settings(home=tmp_path / "home")
    sessions = Sessions(settings, overrides=overrides)
    ctx = AgentContext.create(settings, chat_model=FakeChatModel(queue=["{}"] * 5), autopilot=True,
                              sizes=Sizes.tiny())
    turn = sessions.start(DESC, ctx, catalogs=[str(catalog)])
    assert turn.done and not turn.state.get("error")
    assert turn.state["spec"]["labels"] == ["card_arrival", "exchange_rate", "pin_blocked", "top_up_failed"]
    said = [m["content"] for m in turn.state["messages"] if m.get("kind") == "spec_diff"]
    assert said and said[0].startswith("The label set follows the data: labels: the 4 of banking_queries")
    rows = SessionData(settings, turn.session_id, ctx.store).retrieved()
    assert {r.output for r in rows} == set(turn.state["spec"]["labels"])  # no label's rows dropped
    assert ctx.store.latest_spec(turn.session_id)["labels"] == turn.state["spec"]["labels"]


def test_interactive_shows_rows_per_label_and_keeping_mine_says_what_is_left_out(tmp_path):
    from agent.context import AgentContext, Sizes
    from agent.sessions import Sessions
    from tools.settings import Settings

    catalog = _catalog(tmp_path / "catalog")
    overrides = {k: v for k, v in Script().overrides().items() if k != "find_data"}
    settings = Settings(home=tmp_path / "home")
    sessions = Sessions(settings, overrides=overrides)
    ctx = AgentContext.create(settings, chat_model=FakeChatModel(queue=["{}"] * 8), sizes=Sizes.tiny())
    turn = sessions.start(DESC, ctx, catalogs=[str(catalog)])
    while turn.interrupt and turn.interrupt["kind"] != "adopt_labels":
        turn = sessions.reply(turn.session_id, "1" if turn.interrupt["kind"] == "pick_data" else "yes", ctx)
    assert turn.interrupt["kind"] == "adopt_labels"
    assert turn.interrupt["labels"][0] == {"name": "card_arrival", "rows": 6, "in_spec": True}
    assert "Use all 4?" in turn.interrupt["message"]
    turn = sessions.reply(turn.session_id, "keep my 2", ctx)
    assert turn.state["spec"]["labels"] == ["card_arrival", "exchange_rate"]
    assert any("12 rows of banking_queries with other labels are left out" in m["content"]
               for m in turn.state["messages"])


@pytest.mark.slow
def test_autopilot_exports_a_model_over_the_datas_full_label_set(tmp_path, p2m_home):
    catalog = _catalog(tmp_path / "catalog")
    env = {**os.environ, "P2M_HOME": str(p2m_home), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, "-m", "ui.cli", "run", "--yes", "--tiny", "--json",
                           "--catalog", str(catalog), DESC], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert out["done"] and not out["error"]
    meta = json.loads((Path(out["export_path"]) / "p2m_model.json").read_text())
    assert sorted(meta["labels"]) == ["card_arrival", "exchange_rate", "pin_blocked", "top_up_failed"]
    assert "banking_queries" in out["best"]["eval_source"]  # scored on the real test split
