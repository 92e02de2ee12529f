"""A cohort's whole life against the sandbox, for both deliveries and both state backends.

After every apply the sandbox holds exactly what the state records (baseline members excepted:
they are recorded and deliberately never sent) and a new plan has nothing to do.
"""

from __future__ import annotations

import pytest

from cohortops.apply.applier import Applier
from cohortops.errors import GuardBlockedError, Interrupted

from .conftest import MakeProject
from .harness import CohortSpec, assert_converged, ids


@pytest.mark.parametrize("method", ["attribute", "cohort_import"])
def test_create_change_rename_destroy(make_project: MakeProject, backend: str, method: str) -> None:
    project = make_project(backend, population=2_000)
    main = ids("u", 0, 300)
    base = ids("u", 1000, 1200)  # already in Braze: recorded as the baseline, never sent
    project.write(
        {
            "main": CohortSpec(method, main, {"name": "Main cohort"}),
            "base": CohortSpec(method, base, {"backfill_existing": False}),
        }
    )
    unsent = {"base": set(base)}

    # create
    out = project.apply()
    assert any("base: +0 / -0, 200 recorded as baseline" in line for line in out), out
    recorded = assert_converged(project, unsent=unsent)
    assert recorded == {"main": set(main), "base": set(base)}
    if method == "cohort_import":
        assert project.remote().cohort_name("main") == "Main cohort"
        assert project.remote().cohort_name("base") == "base"  # created, with no members sent

    # member changes: adds and removes in both cohorts, some removes of baseline members
    main2 = ids("u", 100, 400)
    base2 = ids("u", 1050, 1250)
    project.write(
        {
            "main": CohortSpec(method, main2, {"name": "Main cohort"}),
            "base": CohortSpec(method, base2, {"backfill_existing": False}),
        }
    )
    plan = project.plan()
    assert (plan.cohort("main").adds, plan.cohort("main").removes) == (100, 100)
    assert (plan.cohort("base").adds, plan.cohort("base").removes) == (50, 50)
    project.apply()
    recorded = assert_converged(project, unsent=unsent)
    assert recorded == {"main": set(main2), "base": set(base2)}

    # settings change: the display name (a remote rename for cohort import) and a guard
    project.write(
        {
            "main": CohortSpec(
                method, main2, {"name": "Main, renamed", "guards": {"max_remove_percent": 40}}
            ),
            "base": CohortSpec(method, base2, {"backfill_existing": False}),
        }
    )
    plan = project.plan()
    assert plan.cohort("main").action == "update"
    assert plan.cohort("main").settings_diff
    project.apply()
    assert_converged(project, unsent=unsent)
    with project.store() as store:
        settings = store.snapshot().cohorts["main"].settings
    assert settings["name"] == "Main, renamed"
    assert settings["guards"]["max_remove_percent"] == 40
    if method == "cohort_import":
        assert project.remote().cohort_name("main") == "Main, renamed"

    # rename: the state moves to the new id, Braze's identity (remote id) stays
    before = project.sandbox.counters()["requests_total"]
    project.write(
        {
            "renamed": CohortSpec(
                method,
                main2,
                {
                    "name": "Main, renamed",
                    "moved_from": "main",
                    "guards": {"max_remove_percent": 40},
                },
            ),
            "base": CohortSpec(method, base2, {"backfill_existing": False}),
        }
    )
    plan = project.plan()
    assert plan.cohort("renamed").action == "rename"
    assert (plan.cohort("renamed").adds, plan.cohort("renamed").removes) == (0, 0)
    project.apply()
    recorded = assert_converged(project, unsent=unsent)
    assert set(recorded) == {"renamed", "base"}
    assert project.remote_ids()["renamed"] == (method, "main")
    assert project.sandbox.counters()["requests_total"] == before  # no member was re-sent

    # destroy: refused without the flag, then every member leaves Braze and the state
    project.write({"renamed": project.cohorts["renamed"]})
    with pytest.raises(GuardBlockedError, match="--allow-destroy"):
        project.apply()
    assert set(project.recorded()) == {"renamed", "base"}
    project.apply("--allow-destroy")
    recorded = assert_converged(project, gone=[(method, "base")])
    assert set(recorded) == {"renamed"}


def test_baseline_interrupted_before_it_is_recorded_is_not_sent(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(population=1_000)
    project.write({"base": CohortSpec("attribute", ids("u", 0, 200), {"backfill_existing": False})})

    def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies right after the cohort row was committed

    with monkeypatch.context() as patch:
        patch.setattr(Applier, "_record_baseline", die)
        with pytest.raises(Interrupted):
            project.apply()
    assert project.recorded() == {"base": set()}
    plan = project.plan().cohort("base")
    assert plan.sent_adds == 0, f"the resumed apply would send {plan.sent_adds} baseline members"
