from __future__ import annotations

from cohortops.plan.model import OverflowFact, attribute_key
from cohortops.plan.planner import make_plan
from cohortops.sources.issues import SourceIssue

from .builders import (
    NOW,
    attr_connection,
    cohort,
    config,
    diff,
    import_connection,
    record,
    state,
    users,
)


def _update(c, recorded: int, remove: int, add: int = 0, connections=None):
    cfg = config([c], connections=connections)
    d = diff(c.id, add=users(add, "new_"), remove=users(remove), recorded=recorded)
    return make_plan(cfg, state(record(cfg, c.id, recorded)), {c.id: d}, now=NOW)


def test_max_remove_percent_blocks_above_limit() -> None:
    plan = _update(cohort("c", max_remove_percent=20), recorded=100, remove=21)
    g = plan.guard("max_remove_percent:c")
    assert (g.severity, g.override, g.cohort) == ("block", "--allow-mass-removal", "c")
    assert "21 of 100 recorded members (21.0%)" in g.reason and "20%" in g.reason
    assert plan.cohort("c").blocked_by == ("max_remove_percent:c",)
    assert plan.blocked_cohorts() == ("c",)
    assert plan.blocked_cohorts(frozenset({"--allow-mass-removal"})) == ()
    assert plan.blocked_cohorts(frozenset({"allow_mass_removal"})) == ()
    assert plan.blocked_cohorts(frozenset({"--allow-empty"})) == ("c",)


def test_max_remove_percent_at_limit_or_disabled_does_not_block() -> None:
    assert _update(cohort("c", max_remove_percent=20), recorded=100, remove=20).guards == ()
    assert _update(cohort("c", max_remove_percent=None), recorded=100, remove=99).guards == ()


def test_each_guard_has_its_own_flag_allow_empty_does_not_lift_mass_removal() -> None:
    plan = _update(cohort("c", max_remove_percent=20), recorded=10, remove=10)
    assert [g.id for g in plan.guards] == ["empty_source:c", "max_remove_percent:c"]
    g = plan.guards[0]
    assert (g.severity, g.override) == ("block", "--allow-empty")
    assert "returned no members" in g.reason and "all 10 members recorded" in g.reason
    # Before: --allow-empty alone let an empty source remove 100%.
    assert plan.blocked_cohorts(frozenset({"--allow-empty"})) == ("c",)
    assert plan.blocked_cohorts(frozenset({"--allow-mass-removal"})) == ("c",)
    both = frozenset({"--allow-empty", "--allow-mass-removal"})
    assert plan.blocked_cohorts(both) == ()
    allowed = _update(cohort("c", allow_empty=True, max_remove_percent=100), recorded=10, remove=10)
    assert allowed.guards == () and allowed.blocked_cohorts() == ()
    expected_empty = _update(
        cohort("c", allow_empty=True, max_remove_percent=20), recorded=10, remove=10
    )
    assert [g.id for g in expected_empty.guards] == ["max_remove_percent:c"]


def test_destroy_always_needs_the_flag() -> None:
    old = config([cohort("gone")])
    plan = make_plan(
        config([]),
        state(record(old, "gone", 2)),
        {"gone": diff("gone", remove=["a", "b"], recorded=2, desired=0)},
        now=NOW,
    )
    g = plan.guard("destroy:gone")
    assert (g.severity, g.override) == ("block", "--allow-destroy")
    assert "all 2 members recorded" in g.reason
    assert plan.blocked_cohorts() == ("gone",)
    assert plan.blocked_cohorts(frozenset({"--allow-destroy"})) == ()


def test_overflow_blocks_cohorts_adding_to_the_shared_attribute() -> None:
    cfg = config([cohort("a"), cohort("b"), cohort("k", "kubit")])
    fact = OverflowFact(
        attribute_key=attribute_key("braze-prod", "lytics_segments"),
        limit=25,
        users_over=1234,
        sample=("u1", "u2"),
        max_memberships=31,
    )
    diffs = {"a": diff("a", add=["u1"]), "b": diff("b"), "k": diff("k", add=["u1"])}
    plan = make_plan(cfg, state(), diffs, now=NOW, overflow={fact.attribute_key: fact})
    g = plan.guard("array_overflow:braze-prod/lytics_segments")
    assert (g.severity, g.override, g.cohorts) == ("block", "--allow-overflow", ("a",))
    assert "1,234 users" in g.reason and "more than 25" in g.reason and "up to 31" in g.reason
    assert "lytics_segments on braze-prod" in g.reason and "u1, u2" in g.reason
    assert plan.blocked_cohorts() == ("a",)
    assert plan.blocked_cohorts(frozenset({"--allow-overflow"})) == ()


def test_overflow_without_adds_only_warns() -> None:
    cfg = config([cohort("a")])
    fact = OverflowFact(attribute_key("braze-prod", "lytics_segments"), 25, 3, (), 26)
    plan = make_plan(cfg, state(), {"a": diff("a")}, now=NOW, overflow={fact.attribute_key: fact})
    g = plan.guards[0]
    assert g.kind == "array_overflow" and g.severity == "warn" and g.override is None
    assert plan.blocked_cohorts() == ()


def test_capacity_warns_when_more_cohorts_share_an_attribute_than_it_holds() -> None:
    conn = attr_connection(max_array_length=2)
    cfg = config([cohort("a"), cohort("b"), cohort("c")], connections=[conn])
    diffs = {x: diff(x) for x in "abc"}
    plan = make_plan(cfg, state(), diffs, now=NOW)
    g = plan.guard("array_capacity:braze-prod/lytics_segments")
    assert g.severity == "warn" and g.cohorts == ("a", "b", "c")
    assert "3 cohorts write attribute lytics_segments" in g.reason
    two = config([cohort("a"), cohort("b")], connections=[conn])
    assert make_plan(two, state(), {"a": diff("a"), "b": diff("b")}, now=NOW).guards == ()


def test_cohort_import_adds_warn_that_only_existing_users_are_affected() -> None:
    cfg = config([cohort("k", "kubit")])
    plan = make_plan(cfg, state(), {"k": diff("k", add=["x", "y"])}, now=NOW)
    g = plan.guard("existing_users_only:k")
    assert g.severity == "warn" and "existing Braze users only" in g.reason
    assert "2 ids" in g.reason
    no_adds = make_plan(cfg, state(record(cfg, "k", 1)), {"k": diff("k", recorded=1)}, now=NOW)
    assert no_adds.guards == ()


def test_device_ids_of_identified_users_are_mentioned() -> None:
    cfg = config([cohort("k", "kubit", identifier="device_id")])
    plan = make_plan(cfg, state(), {"k": diff("k", add=["d1"])}, now=NOW)
    assert "device ids of identified users" in plan.guard("existing_users_only:k").reason


def test_create_missing_users_warns_that_users_are_created() -> None:
    cfg = config([cohort("a")], connections=[attr_connection(create_missing_users=True)])
    plan = make_plan(cfg, state(), {"a": diff("a", add=["x"])}, now=NOW)
    assert plan.cohort("a").update_existing_only is False
    g = plan.guard("creates_users:a")
    assert g.severity == "warn" and "become new Braze users" in g.reason


def test_no_creates_users_warning_without_create_missing_users() -> None:
    cfg = config([cohort("a")], connections=[attr_connection(), import_connection()])
    plan = make_plan(cfg, state(), {"a": diff("a", add=["x"])}, now=NOW)
    assert plan.guards == ()


def test_rows_skipped_by_source_hygiene_warn_with_counts_and_locations() -> None:
    cfg = config([cohort("a")])
    issues = [
        SourceIssue("configs/data/a.csv:3", "empty identifier"),
        SourceIssue("configs/data/a.csv:9", "identifier longer than 255 characters"),
        SourceIssue("configs/data/a.csv:12", "empty identifier"),
        SourceIssue("configs/data/a.csv:40", "empty identifier"),
    ]
    skipped = {"empty identifier": 3, "identifier longer than 255 characters": 1}
    d = diff("a", add=["x"], issues=issues, skipped=skipped)
    plan = make_plan(cfg, state(), {"a": d}, now=NOW)
    g = plan.guard("source_rows_skipped:a")
    assert g.severity == "warn"
    assert "4 source rows" in g.reason
    assert "empty identifier: 3" in g.reason
    assert "configs/data/a.csv:3 (empty identifier)" in g.reason
    assert "a.csv:40" not in g.reason  # only the first locations
    assert plan.cohort("a").source_issues == tuple(issues)


def test_errored_cohorts_carry_no_guards() -> None:
    cfg = config([cohort("a")])
    plan = make_plan(cfg, state(), {}, now=NOW, source_errors={"a": "boom"})
    assert plan.guards == () and plan.blocked_cohorts() == ()
