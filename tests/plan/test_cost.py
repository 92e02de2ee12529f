from __future__ import annotations

import pytest

from cohortops.plan.cost import COHORT_IMPORT_NOTE, estimate
from cohortops.plan.planner import make_plan

from .builders import NOW, cohort, config, destination, diff, record, state, users


def test_attribute_requests_are_batched_per_action() -> None:
    cost = estimate("attribute", adds=151, removes=75, batch_size=75, requests_per_second=500)
    assert cost.requests == 3 + 1
    assert cost.data_points == 226
    assert cost.seconds == pytest.approx(4 / 500)
    assert cost.note is None


def test_cohort_import_requests_and_no_data_points() -> None:
    cost = estimate(
        "cohort_import",
        adds=2001,
        removes=1000,
        batch_size=1000,
        requests_per_second=100,
        remote_calls=1,
    )
    assert cost.requests == 3 + 1 + 1
    assert cost.data_points == 0
    assert cost.note == COHORT_IMPORT_NOTE
    assert cost.seconds == pytest.approx(0.05)


def test_nothing_costs_nothing() -> None:
    cost = estimate("attribute", adds=0, removes=0, batch_size=75, requests_per_second=500)
    assert (cost.requests, cost.data_points, cost.seconds) == (0, 0, 0.0)


def test_plan_costs_per_cohort_and_in_total() -> None:
    cfg = config(
        [cohort("attr"), cohort("imp", "kubit")],
        destinations=[destination(rps=250, max_objects=50)],
    )
    diffs = {
        "attr": diff("attr", add=users(101), remove=users(50, "old_"), recorded=50),
        "imp": diff("imp", add=users(1500)),
    }
    st = state(record(cfg, "attr", 50))
    plan = make_plan(cfg, st, diffs, now=NOW)
    attr, imp = plan.cohort("attr"), plan.cohort("imp")
    assert attr.batch_size == 50
    assert (attr.cost.requests, attr.cost.data_points) == (3 + 1, 151)
    assert (imp.cost.requests, imp.cost.data_points) == (2 + 1, 0)  # + the create call
    s = plan.summary
    assert (s.requests, s.data_points) == (7, 151)
    assert s.seconds == pytest.approx(7 / 250)
    assert s.rates == (250.0,)
    assert (s.members_to_add, s.members_to_remove) == (1601, 50)


def test_destroy_cost_counts_the_removals() -> None:
    old = config([cohort("gone")])
    plan = make_plan(
        config([]),
        state(record(old, "gone", 76)),
        {"gone": diff("gone", remove=users(76), recorded=76, desired=0)},
        now=NOW,
    )
    assert (plan.summary.requests, plan.summary.data_points) == (2, 76)
