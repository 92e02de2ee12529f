"""After an apply or a scheduled run, its changes go into the warehouse mirror (a fold), not a
whole new copy.

On a DuckDB file and on PostgreSQL: apply, the mirror then names the new local snapshot and
holds its members, so the next plan trusts it (an engine that may not rebuild accepts it) and
equals the local engine's plan. A fold that cannot be trusted (the mirror was edited outside
cohortops, or a replay whose result differs from the new snapshot's fingerprint) changes nothing:
the mirror stays stale, a plan that may not rebuild refuses, and one that may rebuilds it and is
again equal to the local plan.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import pytest

from cohortops.apply.progress import Progress
from cohortops.config.model import SqlSource
from cohortops.diff.engine import make_engine
from cohortops.diff.mirror import read_mirror, snapshot_key
from cohortops.diff.warehouse_conn import connect
from cohortops.diff.warehouse_engine import WarehouseDiffEngine
from cohortops.errors import StateError
from cohortops.operations import fold_mirror as fold_mirror_module
from cohortops.operations.apply_run import apply_command
from cohortops.operations.fold_mirror import Before
from cohortops.operations.scheduled_runs import run_due
from cohortops.plan import render
from cohortops.plan.planfile import write_plan
from cohortops.state.logs import AuditEntry

from .conftest import MakeProject
from .harness import FAST_CLIENT, CohortSpec, Project, ids
from .test_warehouse_plan import fill, place


def warehouse_cohort(
    make_project: MakeProject, warehouse: str, request: pytest.FixtureRequest
) -> tuple[Project, SqlSource, str, str]:
    """A project with one ``diff: warehouse`` cohort, ``wh``: ``(project, its source, the
    warehouse url, the source table)``."""
    project = make_project("sqlite", population=2_000)
    url, table, schema = place(warehouse, project, request)
    spec = {
        "url": url,
        "query": f"SELECT user_id FROM {table} ORDER BY pos",
        "diff": "warehouse",
        "mirror_schema": schema,
    }
    project.write({"wh": CohortSpec("attribute", [], {"source": {"sql": spec}})})
    cohort = project.app().config.cohorts["wh"]
    assert isinstance(cohort.source, SqlSource)
    return project, cohort.source, url, table


def mirrored(project: Project, source: SqlSource) -> tuple[str, str, set[str]]:
    """``(mirror's snapshot, local snapshot, mirror's ids)``."""
    wh = connect(source, "wh")
    try:
        info = read_mirror(wh, source.mirror_schema, "wh")
        assert info is not None
        rows = wh.rows(f'SELECT id FROM "{info.schema}"."{info.table}"')
    finally:
        wh.close()
    with project.store() as store:
        local = snapshot_key(store.recorded_members("wh").snapshot)
    return info.snapshot, local, {r[0] for r in rows}


def diff(project: Project, source: SqlSource, *, rebuild: bool) -> tuple[object, ...]:
    engine = WarehouseDiffEngine(lambda: make_engine("python"), rebuild=rebuild)
    with project.store() as store:
        got = engine.diff("wh", source, store.recorded_members("wh"))
        local = make_engine("python").diff(
            "wh", dataclasses.replace(source, diff="local"), store.recorded_members("wh")
        )
    assert got.to_add.to_pylist() == local.to_add.to_pylist()
    assert got.to_remove.to_pylist() == local.to_remove.to_pylist()
    assert (got.desired_count, got.recorded_count) == (local.desired_count, local.recorded_count)
    return (len(engine.pushed),)


@pytest.mark.parametrize(
    "warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_apply_folds_its_changes_into_the_mirror(
    make_project: MakeProject, warehouse: str, request: pytest.FixtureRequest
) -> None:
    project, source, url, table = warehouse_cohort(make_project, warehouse, request)

    # First apply: the plan pushed an empty mirror, the apply folds its 300 adds into it.
    fill(warehouse, url, table, list(ids("u", 0, 300)))
    lines = project.apply()
    assert any(line.startswith("Mirror of wh: 300 added, 0 removed") for line in lines), lines
    named, local, members = mirrored(project, source)
    assert named == local != "none" and members == set(ids("u", 0, 300))

    # Second apply: adds and removes folded; the next plan trusts the mirror as it is.
    fill(warehouse, url, table, [*ids("u", 100, 400), "u000150", " u000399 "])
    lines = project.apply()
    assert any(line.startswith("Mirror of wh: 100 added, 100 removed") for line in lines), lines
    named, local, members = mirrored(project, source)
    assert named == local and members == set(ids("u", 100, 400))
    fill(warehouse, url, table, [*ids("u", 150, 420), None])
    assert diff(project, source, rebuild=False) == (0,)  # no push: the folded mirror is current

    # The mirror edited between plan and apply: the fold refuses it and changes nothing, so
    # the mirror stays stale (it names the old snapshot), never wrong.
    planfile = project.root / "saved.plan"
    write_plan(project.plan(), planfile, key=None)
    wh = connect(source, "wh")
    try:
        info = read_mirror(wh, source.mirror_schema, "wh")
        assert info is not None
        wh.script([f'INSERT INTO "{info.schema}"."{info.table}" VALUES (\'intruder\')'])
    finally:
        wh.close()
    lines = list(
        apply_command(
            project.app(),
            planfile,
            (),
            frozenset(),
            lambda _text: True,
            render,
            progress=Progress(enabled=False),
            client_options=dict(FAST_CLIENT),
        )
    )
    assert any("Mirror of wh not updated" in line for line in lines), lines
    named, local, members = mirrored(project, source)
    assert named != local and "intruder" in members
    assert project.recorded()["wh"] == set(ids("u", 150, 420))
    fill(warehouse, url, table, list(ids("u", 200, 450)))
    with pytest.raises(StateError, match="push-mirror"):
        diff(project, source, rebuild=False)
    assert diff(project, source, rebuild=True) == (1,)  # rebuilt, then equal to local


@pytest.mark.parametrize(
    "warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_scheduled_run_folds_its_changes_too(
    make_project: MakeProject, warehouse: str, request: pytest.FixtureRequest
) -> None:
    project, source, url, table = warehouse_cohort(make_project, warehouse, request)

    def run_now() -> list[str]:
        lines: list[str] = []
        code = run_due(
            project.app(),
            now=dt.datetime.now(dt.UTC),
            targets=("wh",),
            manual=True,
            echo=lines.append,
            progress=Progress(enabled=False),
            client_options=dict(FAST_CLIENT),
        )
        assert code == 0, lines
        return lines

    fill(warehouse, url, table, list(ids("u", 0, 300)))
    lines = run_now()
    assert any(line.startswith("Mirror of wh: 300 added, 0 removed") for line in lines), lines
    fill(warehouse, url, table, list(ids("u", 100, 400)))
    lines = run_now()
    assert any(line.startswith("Mirror of wh: 100 added, 100 removed") for line in lines), lines
    named, local, members = mirrored(project, source)
    assert named == local != "none" and members == set(ids("u", 100, 400))
    fill(warehouse, url, table, list(ids("u", 150, 420)))
    assert diff(project, source, rebuild=False) == (0,)  # no push: the folded mirror is current


@pytest.mark.parametrize(
    "warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_wrong_replay_of_the_right_size_is_not_trusted(
    make_project: MakeProject,
    warehouse: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, source, url, table = warehouse_cohort(make_project, warehouse, request)
    fill(warehouse, url, table, list(ids("u", 0, 300)))
    project.apply()
    right = fold_mirror_module.replay

    def swapped(before: Before, entries: Iterable[AuditEntry]) -> tuple[list[str], list[str]]:
        changes = right(before, entries)
        assert changes is not None
        added, removed = changes
        return [*added[1:], "u999999"], removed  # one id for another: the same row count

    monkeypatch.setattr(fold_mirror_module, "replay", swapped)
    fill(warehouse, url, table, list(ids("u", 100, 400)))
    lines = project.apply()
    assert any("Mirror of wh not updated" in line for line in lines), lines
    named, local, members = mirrored(project, source)
    assert named != local and members == set(ids("u", 0, 300))  # rolled back: stale, not wrong
    assert project.recorded()["wh"] == set(ids("u", 100, 400))
    with pytest.raises(StateError, match="push-mirror"):
        diff(project, source, rebuild=False)
