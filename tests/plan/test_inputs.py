from __future__ import annotations

from cohortops.plan.inputs import DiffInput, diff_inputs

from .builders import attr_connection, cohort, config, import_connection, record, state


def test_diff_inputs_cover_create_update_rename_and_destroy() -> None:
    old = config([cohort("upd"), cohort("from"), cohort("gone")])
    cfg = config(
        [cohort("upd"), cohort("new", "kubit"), cohort("to", moved_from="from")],
        connections=[attr_connection(max_array_length=40), import_connection()],
    )
    st = state(record(old, "upd", 1), record(old, "from", 1), record(old, "gone", 1))
    got = {d.cohort_id: d for d in diff_inputs(cfg, st)}
    assert list(got) == ["new", "to", "upd", "gone"]
    assert got["new"] == DiffInput("new", cfg.cohorts["new"].source, None)
    assert got["to"].recorded_id == "from"
    assert got["to"].attribute_key == "braze-prod/lytics_segments"
    assert got["to"].max_array_length == 40
    assert got["upd"].recorded_id == "upd"
    assert got["gone"] == DiffInput("gone", None, "gone")


def test_diff_inputs_follow_targets() -> None:
    old = config([cohort("gone")])
    cfg = config([cohort("a"), cohort("b")])
    st = state(record(old, "gone", 1))
    assert [d.cohort_id for d in diff_inputs(cfg, st, frozenset({"b", "gone"}))] == ["b", "gone"]
