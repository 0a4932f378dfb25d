"""`evals.suites --sizes default` runs at the product's own Sizes, not the reduced ones."""

from agent.context import Sizes
from evals import suites
from tools.train.budget import affordable_rows


def test_default_sizes_are_the_products_and_retrieval_is_paid_by_the_budget():
    d = suites.sizes_for("both", False, default=True)
    assert d == Sizes() and d.train_minutes == 10.0
    assert d.max_retrieved_rows == affordable_rows(10.0) > 6000  # no fixed 6,000-row cap
    assert suites.sizes_for("retrieved", False, default=True).synth_per_round == 0
    reduced = suites.sizes_for("both", False)
    assert reduced.max_retrieved_rows == 2000 and reduced.train_minutes == 4.0
    assert Sizes(train_minutes=2.0).max_retrieved_rows == affordable_rows(2.0)
    assert Sizes.tiny().max_retrieved_rows == 300
