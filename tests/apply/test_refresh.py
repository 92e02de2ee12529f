"""plan --refresh / apply --refresh / apply --resync against the sandbox over sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cohortops.apply.progress import Progress
from cohortops.operations.apply_run import apply_command
from cohortops.operations.braze_members import ExportSettings
from cohortops.operations.refresh import drift_lines, plan_refreshed
from cohortops.operations.state_report import forget
from cohortops.plan import render

from .conftest import POPULATION, MakeProject
from .harness import FAST_CLIENT, CohortSpec, Project, assert_converged, ids
from .test_adopt import hold

FAST = ExportSettings(poll_seconds=0.02, ready_timeout=10)
DESIRED = ids("u", 0, 2_000)


def run_apply(project: Project, **options: object) -> list[str]:
    lines: Iterator[str] = apply_command(
        project.app(),
        None,
        (),
        frozenset(),
        lambda _text: True,
        render,
        progress=Progress(enabled=False),
        client_options=dict(FAST_CLIENT),
        export=FAST,
        **options,
    )
    return list(lines)


def setup(project: Project, method: str) -> None:
    spec = CohortSpec(method, DESIRED, {"braze_segment": "seg-adopted"})
    project.write({"adopted": spec})
    hold(project.sandbox, method, [])  # defines the mirror segment (and the partner cohort)
    project.apply()
    assert_converged(project)


@pytest.mark.parametrize("method", ["attribute", "cohort_import"])
def test_resync_after_braze_lost_everything_converges(
    make_project: MakeProject, backend: str, method: str
) -> None:
    project = make_project(backend)
    setup(project, method)
    project.sandbox.reset()  # Braze lost every membership (and, here, every profile)
    project.sandbox.seed_users(
        {"external_ids_range": {"prefix": "u", "start": 0, "count": POPULATION, "width": 6}}
    )
    # A plain plan trusts the state: nothing to do. A refreshed one sees the loss.
    assert not project.plan().has_changes
    app = project.app()
    with app.store() as store:
        refreshed = plan_refreshed(app, store, export=FAST)
        serial = store.snapshot().serial
        assert store.snapshot().serial == serial  # planning wrote nothing
    (cohort,) = refreshed.plan.cohorts
    assert cohort.adds == 2_000
    assert "recorded but missing in Braze: 2,000" in "\n".join(drift_lines(refreshed))
    run_apply(project, resync=("adopted",))
    assert_converged(project)
    with app.store() as store:
        kinds = [e.kind for e in store.audit_entries("adopted")]
    assert "state.refresh" in kinds


def test_apply_refresh_removes_members_added_outside_and_resync_after_forget(
    make_project: MakeProject,
) -> None:
    project = make_project()
    setup(project, "attribute")
    outsiders = ids("u", 10_000, 10_300)
    project.sandbox.seed_users(
        [{"external_id": m, "attributes": {"segs": ["adopted"]}} for m in outsiders]
    )
    lines = run_apply(project, refresh=True)
    assert any("in Braze but not recorded: 300" in line for line in lines)
    assert_converged(project)
    assert project.remote().members("attribute", "adopted") == set(DESIRED)
    # state forget + a smaller source: resync removes the former members Braze still holds.
    app = project.app()
    with app.store() as store:
        forget(store, "adopted", app.actor())
    project.write(
        {"adopted": CohortSpec("attribute", DESIRED[:1_500], {"braze_segment": "seg-adopted"})}
    )
    run_apply(project, resync=("adopted",))
    assert_converged(project)
    assert project.remote().members("attribute", "adopted") == set(DESIRED[:1_500])
