"""Braze's side to Lytics, end to end against the sandbox over sockets: a cohort read from a
Braze segment export delivered to a Lytics destination, and one cohort feeding both a Braze and
a Lytics connection. Each goes plan → apply → no-change plan, then an incremental change is
applied by a subprocess killed with SIGKILL and resumed.
"""

from __future__ import annotations

import json
from typing import Any

from .harness import Project, ids
from .test_lytics import (
    NO_GUARD,
    braze_members,
    file_source,
    kill_mid_apply,
    lytics_members,
    project,
    resume,
    write_config,
)

__all__ = ["project"]  # the fixture, shared with test_lytics


def segment_source(segment: str) -> dict[str, Any]:
    return {"braze_segment": {"destination": "braze", "segment": segment, "poll_seconds": 0.05}}


def test_braze_segment_to_lytics_plan_apply_incremental_kill_resume(project: Project) -> None:
    sandbox = project.sandbox
    first = ids("u", 0, 1200)
    sandbox.add_braze_segment("engaged", first)
    cohort = {"connection": "to-lytics", "identifier": "external_id", "guards": NO_GUARD}
    write_config(project, {"engaged": {**cohort, "source": segment_source("engaged")}})

    plan = project.plan()
    engaged = plan.cohort("engaged")
    assert (engaged.action, engaged.adds, engaged.removes) == ("create", 1200, 0)
    assert engaged.destination == "lytics-prod"
    project.apply()
    assert project.recorded()["engaged"] == set(first) == lytics_members(project, "engaged")
    assert not project.plan().has_changes

    # the segment moves: the next plan holds only the changes
    second = ids("u", 600, 3000)
    sandbox.add_braze_segment("engaged", second)
    changed = project.plan().cohort("engaged")
    assert (changed.adds, changed.removes) == (1800, 600)
    assert set(changed.to_remove.to_pylist()) == set(ids("u", 0, 600))

    write_config(project, {"engaged": {**cohort, "source": segment_source("engaged")}}, rps=20.0)
    kill_mid_apply(project)
    recorded = project.recorded()["engaged"]
    held = lytics_members(project, "engaged")
    assert recorded - set(first) <= held, "the state claims adds Lytics never got"
    resume(project)
    assert project.recorded()["engaged"] == set(second) == lytics_members(project, "engaged")
    assert not project.plan().has_changes


def test_a_failing_segment_fails_its_cohort_only(project: Project) -> None:
    cohort = {"connection": "to-lytics", "identifier": "external_id"}
    members = ids("u", 0, 10)
    write_config(
        project,
        {
            "gone": {**cohort, "source": segment_source("no-such-segment")},
            "vip": {**cohort, "source": file_source(project, "vip", members)},
        },
    )
    plan = project.plan()
    error = plan.cohort("gone").errored or ""
    assert "Segment no-such-segment was not found" in error and "\n" not in error
    assert "Check the segment's API identifier" in error
    assert plan.cohort("vip").adds == 10


def test_one_cohort_feeding_braze_and_lytics(project: Project) -> None:
    first = ids("u", 0, 1500)
    cohort = {"identifier": "external_id", "guards": NO_GUARD}
    source = file_source(project, "vip", first)
    write_config(
        project, {"vip": {**cohort, "connection": ["attr", "to-lytics"], "source": source}}
    )

    plan = project.plan()
    assert [c.cohort_id for c in plan.cohorts] == ["vip", "vip@to-lytics"]
    braze, lytics = plan.cohort("vip"), plan.cohort("vip@to-lytics")
    assert (braze.destination, lytics.destination) == ("braze", "lytics-prod")
    assert braze.adds == lytics.adds == 1500
    assert braze.remote_id == lytics.remote_id == "vip"  # both destinations see the declared id
    project.apply()
    recorded = project.recorded()
    assert recorded["vip"] == set(first) == braze_members(project, "vip")
    assert recorded["vip@to-lytics"] == set(first) == lytics_members(project, "vip")
    assert not project.plan().has_changes

    # both pairs change; the apply is killed half-way and resumed
    second = ids("u", 1000, 3000)
    source = file_source(project, "vip", second)
    write_config(
        project,
        {"vip": {**cohort, "connection": ["attr", "to-lytics"], "source": source}},
        rps=20.0,
    )
    changed = project.plan()
    assert [(c.adds, c.removes) for c in changed.cohorts] == [(1500, 1000), (1500, 1000)]
    # a pair is selected by its id
    one = project.main("plan", "--cohort", "vip@to-lytics", "--format", "json")
    assert one.returncode == 0, one.stderr
    assert [c["id"] for c in json.loads(one.stdout)["cohorts"]] == ["vip@to-lytics"]
    kill_mid_apply(project)
    resume(project)
    recorded = project.recorded()
    assert recorded["vip"] == set(second) == braze_members(project, "vip")
    assert recorded["vip@to-lytics"] == set(second) == lytics_members(project, "vip")
    assert not project.plan().has_changes


def test_adding_a_second_connection_keeps_the_first_ones_state(project: Project) -> None:
    members = ids("u", 0, 800)
    cohort = {"identifier": "external_id", "source": file_source(project, "vip", members)}
    write_config(project, {"vip": {**cohort, "connection": "attr"}})
    project.apply()
    with project.store() as store:
        before = store.runs()

    write_config(project, {"vip": {**cohort, "connection": ["attr", "to-lytics"]}})
    plan = project.plan()
    kept, added = plan.cohort("vip"), plan.cohort("vip@to-lytics")
    assert (kept.action, kept.adds, kept.removes) == ("noop", 0, 0)
    assert (added.action, added.adds) == ("create", 800)
    assert plan.summary.cohorts_to_destroy == 0 and plan.summary.cohorts_to_create == 1
    project.apply()
    assert lytics_members(project, "vip") == set(members) == braze_members(project, "vip")
    with project.store() as store:
        runs = store.runs()
    assert [r for r in runs if r.cohort_id == "vip"] == [r for r in before if r.cohort_id == "vip"]
    assert not project.plan().has_changes

    # listing the connections the other way round would move the declared id to the Lytics
    # pair: refused in place, and the Braze pair may not take over the recorded Braze identity
    write_config(project, {"vip": {**cohort, "connection": ["to-lytics", "attr"]}})
    swapped = project.plan()
    assert "not supported in place" in (swapped.cohort("vip").errored or "")
    assert "already written by cohort 'vip'" in (swapped.cohort("vip@attr").errored or "")

    # dropping it again destroys only the Lytics pair (a guarded destroy)
    write_config(project, {"vip": {**cohort, "connection": "attr"}})
    dropped = project.plan()
    assert dropped.cohort("vip@to-lytics").action == "destroy"
    assert dropped.cohort("vip").action == "noop"


def test_a_segment_feeding_two_connections_is_exported_once_per_plan(project: Project) -> None:
    members = ids("u", 0, 300)
    project.sandbox.add_braze_segment("engaged", members)
    cohort = {"identifier": "external_id", "source": segment_source("engaged")}
    write_config(project, {"engaged": {**cohort, "connection": ["attr", "to-lytics"]}})

    def exports() -> int:
        counted = project.sandbox.counters()["requests"].get("/users/export/segment", {})
        return sum(counted.values())

    plan = project.plan()
    assert exports() == 1
    assert [(c.cohort_id, c.adds) for c in plan.cohorts] == [
        ("engaged", 300),
        ("engaged@to-lytics", 300),
    ]
    # the declared id selects both pairs
    both = project.main("plan", "--cohort", "engaged", "--format", "json")
    assert both.returncode == 0, both.stderr
    assert [c["id"] for c in json.loads(both.stdout)["cohorts"]] == [
        "engaged",
        "engaged@to-lytics",
    ]
    assert exports() == 2
    # a refreshed plan (plan --refresh, apply --refresh) shares the export as well
    refreshed = project.main("plan", "--refresh", "--format", "json")
    assert refreshed.returncode == 0, refreshed.stderr
    assert [(c["id"], c["members_to_add"]) for c in json.loads(refreshed.stdout)["cohorts"]] == [
        ("engaged", 300),
        ("engaged@to-lytics", 300),
    ]
    assert exports() == 3
    project.apply()
    assert braze_members(project, "engaged") == set(members) == lytics_members(project, "engaged")
    assert not project.plan().has_changes
