"""Adopting a workspace that already holds a cohort: import → plan → apply → drift clean.

Both delivery methods × both state backends, against the sandbox over sockets.
"""

from __future__ import annotations

import httpx
import pytest

from cohortops.operations.braze_members import ExportSettings
from cohortops.operations.drift_segment import drift_report, segment_drift
from cohortops.operations.import_members import import_cohort
from cohortops.plan import render
from cohortops.sandbox import SandboxServer
from cohortops.sandbox.testing import CLIENT_SECRET, PARTNER_KEY

from .conftest import MakeProject
from .harness import ATTRIBUTE, PARTNER, CohortSpec, Project, assert_converged, ids

FAST = ExportSettings(poll_seconds=0.02, ready_timeout=10)
HELD = ids("u", 0, 10_000)  # hold the value before cohortops is ever run
DESIRED = ids("u", 5_000, 15_000)  # half of them no longer desired, 5,000 new ones


def hold(sandbox: SandboxServer, method: str, members: list[str]) -> None:
    """What Lytics' or Kubit's own job left behind in the workspace."""
    if method == "attribute":
        sandbox.seed_users(
            [{"external_id": m, "attributes": {ATTRIBUTE: ["adopted"]}} for m in members]
        )
        sandbox.define_segment("seg-adopted", {"attribute": ATTRIBUTE, "includes": "adopted"})
        return
    keys = {"partner_api_key": PARTNER_KEY, "client_secret": CLIENT_SECRET}
    with httpx.Client(base_url=sandbox.base_url, timeout=30) as client:
        created = {"cohort_id": "adopted", "name": "adopted", "created_at": "2024-01-01T00:00:00Z"}
        assert client.post(f"/partners/{PARTNER}/cohorts", json={**keys, **created}).is_success
        for i in range(0, len(members), 1000):
            change = {"user_ids": members[i : i + 1000], "should_remove": False}
            body = {**keys, "cohort_id": "adopted", "cohort_changes": [change]}
            assert client.post(f"/partners/{PARTNER}/cohorts/users", json=body).is_success
    sandbox.define_segment(
        "seg-adopted", {"partner_cohort": {"partner": PARTNER, "cohort_id": "adopted"}}
    )


def adopt(project: Project, method: str, **extra: object) -> None:
    spec = CohortSpec(method, DESIRED, {"braze_segment": "seg-adopted", **extra})
    project.write({"adopted": spec})


@pytest.mark.parametrize("method", ["attribute", "cohort_import"])
def test_adopt_import_plan_apply_drift_clean(
    make_project: MakeProject, backend: str, method: str
) -> None:
    project = make_project(backend)
    hold(project.sandbox, method, HELD)
    adopt(project, method)
    app = project.app()
    with app.store() as store:
        result = import_cohort(app.config, store, "adopted", "tester@ci", export=FAST)
    assert result.imported == 10_000
    plan = project.plan()
    (cohort,) = plan.cohorts
    assert cohort.to_remove.to_pylist() == ids("u", 0, 5_000)
    assert cohort.to_add.to_pylist() == ids("u", 10_000, 15_000)
    project.apply()
    assert_converged(project)
    with app.store() as store:
        drift = segment_drift(app.config, store, "adopted", FAST)
        audit = [e for e in store.audit_entries("adopted") if e.kind == "state.import"]
    assert not drift.drifted
    assert drift.in_braze == drift.recorded == 10_000
    assert audit[0].data == {"source": "segment seg-adopted", "imported": 10_000, "previous": 0}
    assert audit[0].actor == "tester@ci"


def test_import_refuses_to_overwrite_without_replace(make_project: MakeProject) -> None:
    project = make_project()
    hold(project.sandbox, "attribute", HELD[:100])
    adopt(project, "attribute")
    app = project.app()
    with app.store() as store:
        import_cohort(app.config, store, "adopted", "tester@ci", export=FAST)
        with pytest.raises(Exception, match="--replace"):
            import_cohort(app.config, store, "adopted", "tester@ci", export=FAST)
        csv = project.root / "held.csv"
        csv.write_text("external_id\nu000001\nu000002\n")
        again = import_cohort(
            app.config, store, "adopted", "tester@ci", from_file=csv, replace=True
        )
    assert (again.imported, again.previous) == (2, 100)
    assert project.recorded()["adopted"] == {"u000001", "u000002"}


def test_drift_sees_both_directions(make_project: MakeProject) -> None:
    project = make_project()
    hold(project.sandbox, "attribute", HELD[:50])
    adopt(project, "attribute")
    app = project.app()
    with app.store() as store:
        import_cohort(app.config, store, "adopted", "tester@ci", export=FAST)
    # Someone adds the value to two more users and removes it from one, outside cohortops.
    project.sandbox.seed_users(
        [{"external_id": m, "attributes": {ATTRIBUTE: ["adopted"]}} for m in ("u019998", "u019999")]
        + [{"external_id": "u000003", "attributes": {ATTRIBUTE: []}}]
    )
    with app.store() as store:
        drift = segment_drift(app.config, store, "adopted", FAST)
    assert drift.not_recorded.to_pylist() == ["u019998", "u019999"]
    assert drift.missing.to_pylist() == ["u000003"]


@pytest.mark.parametrize("method", ["attribute", "cohort_import"])
def test_additive_cohort_never_removes(make_project: MakeProject, method: str) -> None:
    project = make_project()
    hold(project.sandbox, method, HELD[:2_000])
    project.write(
        {
            "adopted": CohortSpec(
                method,
                ids("u", 1_000, 3_000),
                {
                    "braze_segment": "seg-adopted",
                    "removal": "additive",
                    "guards": {"max_remove_percent": 1},
                },
            )
        }
    )
    app = project.app()
    with app.store() as store:
        import_cohort(app.config, store, "adopted", "tester@ci", export=FAST)
    plan = project.plan()
    (cohort,) = plan.cohorts
    assert (cohort.adds, cohort.removes, cohort.kept) == (1_000, 0, 1_000)
    assert not plan.guards or all(g.kind != "mass_removal" for g in plan.guards)
    assert "1,000 left the source and are kept (removal: additive)" in render(plan, "text")
    project.apply()
    held = project.remote().members(method, "adopted")
    assert held == set(ids("u", 0, 3_000))
    # Destroying an additive cohort removes nobody from Braze, even with --allow-destroy.
    project.write({})
    destroy = project.plan()
    (gone,) = destroy.cohorts
    assert (gone.action, gone.removes, gone.kept) == ("destroy", 0, 3_000)
    project.apply("--allow-destroy")
    assert project.remote().members(method, "adopted") == held
    assert project.recorded() == {}


@pytest.mark.parametrize("segment", [True, False])
def test_baseline_members_are_not_reported_lost(make_project: MakeProject, segment: bool) -> None:
    project = make_project()
    extra: dict[str, object] = {"backfill_existing": False}
    if segment:
        extra["braze_segment"] = "seg-adopted"
        hold(project.sandbox, "attribute", [])
    project.write({"adopted": CohortSpec("attribute", ids("u", 0, 300), extra)})
    project.apply()  # the 300 are recorded as the baseline, never sent
    project.write({"adopted": CohortSpec("attribute", ids("u", 0, 310), extra)})
    project.apply()  # 10 later entries are sent
    app = project.app()
    with app.store() as store:
        report = drift_report(app.config, store, ("adopted",), sample=None, export=FAST)
    text = "\n".join(report.lines)
    assert not report.drifted, text
    if segment:
        assert "300 baseline members" in text
    else:
        assert "not visible" in text
