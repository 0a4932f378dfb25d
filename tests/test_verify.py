"""The user as the source of gold labels: a handful of teacher labels confirmed or corrected."""

from __future__ import annotations

from agent.nodes.verify import parse_verdicts
from tools.contracts import Example

SHOWN = [Example(input=f"ticket {i}", output=lab, split="test", source="synthetic:1")
         for i, lab in enumerate(["billing", "technical", "other", "billing"], 1)]
LABELS = ["billing", "technical", "other"]


def test_all_correct_confirms_every_row_as_user_verified():
    rows, problems = parse_verdicts("all correct", SHOWN, LABELS)
    assert [r.output for r in rows] == ["billing", "technical", "other", "billing"]
    assert all(r.source == "user-verified" and not r.params["corrected"] for r in rows) and not problems


def test_corrections_and_wrong_marks():
    rows, problems = parse_verdicts("2: Other; 4 wrong", SHOWN, LABELS)
    assert [(r.input, r.output) for r in rows] == [("ticket 1", "billing"), ("ticket 2", "other"),
                                                  ("ticket 3", "other")]
    assert rows[1].params == {"teacher_label": "technical", "corrected": True}


def test_bad_corrections_are_refused_and_skip_records_nothing():
    rows, problems = parse_verdicts("1: refunds, 9: billing", SHOWN, LABELS)
    assert problems == ["item 1: 'refunds' is not one of the labels", "there is no item 9"]
    assert parse_verdicts("skip", SHOWN, LABELS) == ([], [])
    assert parse_verdicts("hmm, not sure", SHOWN, LABELS)[0] == []


def test_the_pause_records_a_gold_set_that_evaluation_scores(tmp_path):
    from agent.context import AgentContext, Sizes
    from agent.data_files import SessionData
    from agent.sessions import Sessions
    from tests.fakes.chat import FakeChatModel
    from tests.fakes.graph_script import TICKETS, Script, intake_fake
    from tools.settings import Settings

    script = Script()
    over = script.overrides()

    def generate(state, runtime):  # held-out synthetic rows, as the real node writes them
        data = SessionData(runtime.context.settings, state["session_id"], runtime.context.store)
        data.save_synthetic(1, [Example(input=f"msg {i}", output="billing", source="synthetic:1")
                                for i in range(10)])
        return {"round": 1, "eval_source": "2 held-out synthetic examples (not a real test split)"}
    over["generate"] = generate
    settings = Settings(home=tmp_path / "home")
    sessions = Sessions(settings, overrides=over)
    fake = intake_fake()
    fake.queue.append('{"action": "proceed", "gap": "", "question": ""}')
    ctx = AgentContext.create(settings, chat_model=fake, sizes=Sizes.tiny())
    turn = sessions.start(TICKETS, ctx)
    turn = sessions.reply(turn.session_id, "yes", ctx)
    assert turn.interrupt["kind"] == "verify_labels"
    assert [i["label"] for i in turn.interrupt["items"]] == ["billing", "billing"]
    turn = sessions.reply(turn.session_id, "2: other", ctx)
    got = SessionData(settings, turn.session_id, ctx.store).verified()
    assert [(r.output, r.source) for r in got] == [("billing", "user-verified"), ("other", "user-verified")]
    assert "Recorded 2 user-verified rows (1 corrected)." in [m["content"] for m in turn.state["messages"]]
    assert ctx.store.query("SELECT count(*) AS n FROM examples WHERE source = 'user-verified'")[0]["n"] == 2
