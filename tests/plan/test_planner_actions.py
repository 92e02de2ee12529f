from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from cohortops.config.model import Cohort
from cohortops.errors import PlanError
from cohortops.plan.planner import cohort_settings, make_plan

from .builders import (
    NOW,
    attr_connection,
    cohort,
    config,
    destination,
    diff,
    import_connection,
    record,
    state,
    users,
)


def test_create_attribute_cohort() -> None:
    cfg = config([cohort("churn-risk")])
    plan = make_plan(cfg, state(), {"churn-risk": diff("churn-risk", add=["a", "b"])}, now=NOW)
    cp = plan.cohort("churn-risk")
    assert cp.action == "create"
    assert cp.to_add.to_pylist() == ["a", "b"]
    assert (cp.remote_id, cp.attribute, cp.method) == ("churn-risk", "lytics_segments", "attribute")
    assert (cp.connection, cp.destination, cp.partner) == ("lytics", "braze-prod", "lytics")
    assert cp.update_existing_only is True
    assert cp.batch_size == 75
    assert not cp.needs_remote_create
    assert cp.settings == cohort_settings(cfg, cfg.cohorts["churn-risk"])
    assert cp.settings_diff == ()
    assert plan.has_changes
    assert plan.summary.cohorts_to_create == 1
    assert (plan.lineage, plan.serial, plan.created_at) == ("lineage-1", 7, NOW)
    assert plan.config_digest == cfg.digest


def test_create_cohort_import_needs_remote_create() -> None:
    cfg = config([cohort("power", "kubit", name="Power users")])
    plan = make_plan(cfg, state(), {"power": diff("power", add=["u1"])}, now=NOW)
    cp = plan.cohort("power")
    assert cp.action == "create"
    assert cp.needs_remote_create and not cp.needs_remote_rename
    assert (cp.method, cp.attribute, cp.batch_size, cp.name) == (
        "cohort_import",
        None,
        1000,
        "Power users",
    )


def test_update_members() -> None:
    cfg = config([cohort("c")])
    st = state(record(cfg, "c", 10))
    plan = make_plan(cfg, st, {"c": diff("c", add=["x"], remove=["y"], recorded=10)}, now=NOW)
    cp = plan.cohort("c")
    assert cp.action == "update"
    assert (cp.adds, cp.removes, cp.recorded_count, cp.desired_count) == (1, 1, 10, 10)
    assert plan.summary.cohorts_to_update == 1
    assert (plan.summary.members_to_add, plan.summary.members_to_remove) == (1, 1)


def test_settings_change_alone_is_an_update_with_readable_lines() -> None:
    old = config([cohort("c", max_remove_percent=20)])
    new = config([cohort("c", max_remove_percent=30)])
    plan = make_plan(new, state(record(old, "c", 5)), {"c": diff("c", recorded=5)}, now=NOW)
    cp = plan.cohort("c")
    assert cp.action == "update"
    assert cp.settings_diff == ("~ guards.max_remove_percent: 20 → 30",)
    assert cp.cost.requests == 0
    assert plan.has_changes


def test_noop() -> None:
    cfg = config([cohort("c")])
    plan = make_plan(cfg, state(record(cfg, "c", 5)), {"c": diff("c", recorded=5)}, now=NOW)
    assert plan.cohort("c").action == "noop"
    assert not plan.has_changes
    assert plan.summary.cohorts_unchanged == 1
    assert plan.summary.cohorts_to_change == 0


def test_rename_attribute_cohort_keeps_remote_id() -> None:
    old = config([cohort("old-id")])
    new = config([cohort("new-id", moved_from="old-id")])
    st = state(record(old, "old-id", 3))
    plan = make_plan(new, st, {"new-id": diff("new-id", add=["z"], recorded=3)}, now=NOW)
    assert [c.cohort_id for c in plan.cohorts] == ["new-id"]  # the old id is not destroyed
    cp = plan.cohort("new-id")
    assert cp.action == "rename"
    assert cp.moved_from == "old-id"
    assert cp.remote_id == "old-id"
    assert cp.settings["remote_id"] == "old-id"
    assert cp.adds == 1 and cp.recorded_count == 3
    assert not cp.needs_remote_rename  # attribute values are the remote id; no call needed
    assert plan.summary.cohorts_to_rename == 1


def test_rename_keeps_remote_id_recorded_at_creation_across_two_moves() -> None:
    first = config([cohort("a")])
    settings = {**cohort_settings(first, first.cohorts["a"]), "remote_id": "original"}
    new = config([cohort("b", moved_from="a")])
    st = state(record(first, "a", 0, settings=settings))
    plan = make_plan(new, st, {"b": diff("b")}, now=NOW)
    assert plan.cohort("b").remote_id == "original"


def test_rename_of_cohort_import_with_new_display_name_needs_rename_call() -> None:
    old = config([cohort("old", "kubit", name="Old name")])
    new = config([cohort("new", "kubit", name="New name", moved_from="old")])
    st = state(record(old, "old", 2, remote_name="Old name"))
    plan = make_plan(new, st, {"new": diff("new", recorded=2)}, now=NOW)
    cp = plan.cohort("new")
    assert cp.action == "rename"
    assert cp.remote_id == "old"
    assert cp.needs_remote_rename and not cp.needs_remote_create
    assert cp.cost.requests == 1
    assert '~ name: "Old name" → "New name"' in cp.settings_diff


def test_changed_display_name_on_cohort_import_is_an_update_with_rename_call() -> None:
    old = config([cohort("c", "kubit", name="A")])
    new = config([cohort("c", "kubit", name="B")])
    plan = make_plan(new, state(record(old, "c", 2)), {"c": diff("c", recorded=2)}, now=NOW)
    cp = plan.cohort("c")
    assert cp.action == "update"
    assert cp.needs_remote_rename


def test_cohort_import_not_yet_created_remotely_gets_created() -> None:
    cfg = config([cohort("c", "kubit")])
    st = state(record(cfg, "c", 2, remote_created=False))
    cp = make_plan(cfg, st, {"c": diff("c", recorded=2)}, now=NOW).cohort("c")
    assert cp.action == "update"
    assert cp.needs_remote_create and not cp.needs_remote_rename


def test_moved_from_already_happened_is_a_warning_only() -> None:
    cfg = config([cohort("new", moved_from="old")])
    plan = make_plan(cfg, state(record(cfg, "new", 4)), {"new": diff("new", recorded=4)}, now=NOW)
    assert plan.cohort("new").action == "noop"
    assert plan.cohort("new").errored is None
    assert any("already happened" in w.message and w.cohort == "new" for w in plan.warnings)


def test_moved_from_unknown_everywhere_creates_with_warning() -> None:
    cfg = config([cohort("new", moved_from="ghost")])
    plan = make_plan(cfg, state(), {"new": diff("new", add=["a"])}, now=NOW)
    assert plan.cohort("new").action == "create"
    assert any("ghost is not in the state" in w.message for w in plan.warnings)


def test_moved_from_with_both_ids_in_state_is_an_error_and_old_not_destroyed() -> None:
    old = config([cohort("old")])
    cfg = config([cohort("new", moved_from="old")])
    st = state(record(old, "old", 1), record(cfg, "new", 1))
    plan = make_plan(cfg, st, {"new": diff("new", recorded=1)}, now=NOW)
    assert [c.cohort_id for c in plan.cohorts] == ["new"]
    assert "state forget old" in (plan.cohort("new").errored or "")


def test_destroy_attribute_cohort_removes_all_recorded_members() -> None:
    old = config([cohort("gone")])
    cfg = config([])
    st = state(record(old, "gone", 3))
    d = diff("gone", remove=["a", "b", "c"], recorded=3, desired=0)
    plan = make_plan(cfg, st, {"gone": d}, now=NOW)
    cp = plan.cohort("gone")
    assert cp.action == "destroy"
    assert cp.to_remove.to_pylist() == ["a", "b", "c"]
    assert (cp.attribute, cp.connection, cp.destination) == (
        "lytics_segments",
        "lytics",
        "braze-prod",
    )
    assert cp.update_existing_only is True
    assert plan.summary.cohorts_to_destroy == 1
    assert plan.summary.members_to_remove == 3
    assert not any("cannot delete" in w.message for w in plan.warnings)


def test_destroy_cohort_import_says_braze_keeps_the_empty_cohort() -> None:
    old = config([cohort("gone", "kubit", name="Gone")])
    cfg = config([])
    st = state(record(old, "gone", 1))
    plan = make_plan(cfg, st, {"gone": diff("gone", remove=["a"], recorded=1, desired=0)}, now=NOW)
    cp = plan.cohort("gone")
    assert (cp.action, cp.method, cp.partner, cp.name) == (
        "destroy",
        "cohort_import",
        "kubit",
        "Gone",
    )
    warning = next(w for w in plan.warnings if w.cohort == "gone")
    assert "cannot delete" in warning.message and "dashboard" in warning.message


def test_destroy_with_an_unknown_recorded_identifier_is_errored() -> None:
    old = config([cohort("gone")])
    settings = {**cohort_settings(old, old.cohorts["gone"]), "identifier": "email"}
    st = state(record(old, "gone", 1, settings=settings))
    cfg = config([])
    plan = make_plan(cfg, st, {"gone": diff("gone", remove=["a"], recorded=1, desired=0)}, now=NOW)
    cp = plan.cohort("gone")
    assert cp.errored is not None and "'email'" in cp.errored and "state forget gone" in cp.errored
    assert cp.removes == 0 and not plan.has_changes


def test_destroy_with_connection_gone_is_errored_with_the_way_out() -> None:
    old = config([cohort("gone")])
    cfg = config([], connections=[import_connection()])
    st = state(record(old, "gone", 1))
    plan = make_plan(cfg, st, {"gone": diff("gone", remove=["a"], recorded=1, desired=0)}, now=NOW)
    cp = plan.cohort("gone")
    assert cp.errored is not None and "state forget gone" in cp.errored
    assert plan.summary.cohorts_errored == 1 and plan.summary.cohorts_to_destroy == 0
    assert not plan.has_changes and plan.has_errors


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: dataclasses.replace(c, connection="kubit"), "connection"),
        (
            lambda c: dataclasses.replace(c, identifier="user_alias", alias_label="lbl"),
            "identifier",
        ),
    ],
)
def test_identity_change_in_place_is_errored(
    change: Callable[[Cohort], Cohort], field: str
) -> None:
    old = config([cohort("c")])
    new_cohort = change(old.cohorts["c"])
    new = config([new_cohort])
    plan = make_plan(new, state(record(old, "c", 5)), {"c": diff("c", recorded=5)}, now=NOW)
    cp = plan.cohort("c")
    assert cp.errored is not None
    assert field in cp.errored
    assert "new cohort id" in cp.errored and "c be destroyed" in cp.errored
    assert cp.adds == cp.removes == 0 and cp.cost.requests == 0
    assert not plan.has_changes


def test_attribute_name_change_is_errored() -> None:
    old = config([cohort("c")])
    new = config([cohort("c")], connections=[attr_connection(attribute="other_attr")])
    plan = make_plan(new, state(record(old, "c", 5)), {"c": diff("c", recorded=5)}, now=NOW)
    assert "delivery.attribute" in (plan.cohort("c").errored or "")


def test_max_array_length_change_is_an_in_place_update() -> None:
    old = config([cohort("c")])
    new = config([cohort("c")], connections=[attr_connection(max_array_length=100)])
    plan = make_plan(new, state(record(old, "c", 5)), {"c": diff("c", recorded=5)}, now=NOW)
    cp = plan.cohort("c")
    assert cp.errored is None
    assert cp.settings_diff == ("~ delivery.max_array_length: 25 → 100",)


def test_backfill_false_on_new_cohort_records_a_baseline_without_requests() -> None:
    cfg = config([cohort("c", backfill_existing=False)])
    plan = make_plan(cfg, state(), {"c": diff("c", add=users(200))}, now=NOW)
    cp = plan.cohort("c")
    assert cp.action == "create" and cp.baseline
    assert cp.adds == 200  # recorded into the state by apply
    assert (cp.cost.requests, cp.cost.data_points) == (0, 0)
    assert plan.summary.members_to_add == 0
    assert plan.summary.members_baseline == 200
    assert not any(g.kind == "creates_users" for g in plan.guards)
    assert any("baseline" in w.message for w in plan.warnings)


def test_backfill_false_on_existing_cohort_sends_changes() -> None:
    cfg = config([cohort("c", backfill_existing=False)])
    plan = make_plan(
        cfg, state(record(cfg, "c", 1)), {"c": diff("c", add=["n"], recorded=1)}, now=NOW
    )
    cp = plan.cohort("c")
    assert not cp.baseline and cp.cost.requests == 1


def test_source_error_isolated_to_its_cohort() -> None:
    cfg = config([cohort("bad"), cohort("good")])
    plan = make_plan(
        cfg,
        state(),
        {"good": diff("good", add=["a"])},
        now=NOW,
        source_errors={"bad": "connection refused by warehouse"},
    )
    bad, good = plan.cohort("bad"), plan.cohort("good")
    assert bad.errored == "source failed: connection refused by warehouse"
    assert good.errored is None and good.adds == 1
    assert plan.summary.cohorts_errored == 1 and plan.summary.cohorts_to_create == 1


def test_targets_filter_plans_only_selected_cohorts() -> None:
    old = config([cohort("gone")])
    cfg = config([cohort("a"), cohort("b")])
    st = state(record(old, "gone", 1))
    plan = make_plan(cfg, st, {"a": diff("a", add=["x"])}, now=NOW, targets=frozenset({"a"}))
    assert [c.cohort_id for c in plan.cohorts] == ["a"]
    assert plan.targets == ("a",)


def test_targets_old_id_of_a_moved_cohort_selects_the_rename() -> None:
    old = config([cohort("old")])
    cfg = config([cohort("new", moved_from="old")])
    st = state(record(old, "old", 0))
    plan = make_plan(cfg, st, {"new": diff("new")}, now=NOW, targets=frozenset({"old"}))
    assert [(c.cohort_id, c.action) for c in plan.cohorts] == [("new", "rename")]


def test_unknown_target_is_a_plan_error() -> None:
    cfg = config([cohort("a")])
    with pytest.raises(PlanError, match="Unknown cohort for --cohort: nope"):
        make_plan(cfg, state(), {}, now=NOW, targets=frozenset({"nope"}))


def test_missing_diff_is_a_plan_error() -> None:
    cfg = config([cohort("a")])
    with pytest.raises(PlanError, match="No member diff"):
        make_plan(cfg, state(), {}, now=NOW)


def test_planner_is_deterministic_and_ordered() -> None:
    cfg = config([cohort("b"), cohort("a")], destinations=[destination()])
    diffs = {"a": diff("a", add=["1"]), "b": diff("b", add=["2"])}
    one = make_plan(cfg, state(), diffs, now=NOW)
    two = make_plan(cfg, state(), diffs, now=NOW)
    assert [c.cohort_id for c in one.cohorts] == ["a", "b"]
    assert one == two


def test_naive_now_is_taken_as_utc() -> None:
    cfg = config([cohort("a")])
    plan = make_plan(cfg, state(), {"a": diff("a")}, now=NOW.replace(tzinfo=None))
    assert plan.created_at == NOW


def test_plan_holds_no_secret_values() -> None:
    cfg = config([cohort("a"), cohort("k", "kubit")])
    plan = make_plan(cfg, state(), {"a": diff("a", add=["x"]), "k": diff("k")}, now=NOW)
    text = repr(plan)
    assert "KUBIT_PARTNER_KEY" not in text and "BRAZE_API_KEY" not in text


def test_planner_touches_no_files_or_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import socket

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the planner must not do I/O")

    cfg = config([cohort("a"), cohort("k", "kubit")])
    diffs = {"a": diff("a", add=["x"]), "k": diff("k", add=["y"])}
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    plan = make_plan(cfg, state(), diffs, now=NOW)
    assert plan.summary.members_to_add == 2


def test_an_errored_moves_old_identity_stays_taken() -> None:
    # "new" moves "old" but its source failed, so the move does not happen this plan: the
    # recorded "old" still writes the Braze value "old", which a new pair of "old" may not take.
    old = config([cohort("old")])
    pair = dataclasses.replace(cohort("old@again"), declared="old")
    new = config([cohort("new", moved_from="old"), pair])
    st = state(record(old, "old", 3))
    diffs = {"old@again": diff("old@again", add=["a"])}
    plan = make_plan(new, st, diffs, now=NOW, source_errors={"new": "file not found"})
    assert plan.cohort("new").errored is not None
    assert "already written by cohort 'old'" in (plan.cohort("old@again").errored or "")
