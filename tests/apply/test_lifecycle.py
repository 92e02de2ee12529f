"""A cohort's whole life against the sandbox, for both deliveries and both state backends.

After every apply the sandbox holds exactly what the state records (baseline members excepted:
they are recorded and deliberately never sent) and a new plan has nothing to do.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from cohortops.apply.applier import Applier
from cohortops.apply.remote import BrazeRemote
from cohortops.errors import ApplyError, GuardBlockedError, Interrupted

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


def test_every_removal_goes_before_any_add_across_cohorts(make_project: MakeProject) -> None:
    # A user at the array's limit (2) swaps one cohort for another. Had "a-new" (sorted first)
    # been added before "z-old" was removed, Braze would silently drop its oldest value,
    # "c-keep", which the state would go on claiming.
    project = make_project(population=10, max_array_length=2)
    no_guard = {"guards": {"max_remove_percent": None}}

    def write(cohorts: dict[str, CohortSpec]) -> None:
        project.write(cohorts)
        config = project.configs / "cohortops.yaml"
        config.write_text(
            config.read_text().replace("max_array_length: 100", "max_array_length: 2")
        )

    user = ["u000000"]
    write(
        {
            "c-keep": CohortSpec("attribute", user, no_guard),
            "z-old": CohortSpec("attribute", user, no_guard),
        }
    )
    project.apply()
    write(
        {
            "c-keep": CohortSpec("attribute", user, no_guard),
            "a-new": CohortSpec("attribute", user, no_guard),
        }
    )
    project.apply("--allow-destroy")
    recorded = assert_converged(project, gone=[("attribute", "z-old")])
    assert recorded == {"c-keep": set(user), "a-new": set(user)}


def test_an_interrupted_destroy_keeps_the_cohort_until_every_removal_is_acknowledged(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(population=3_000)
    members = ids("u", 0, 3_000)
    project.write(
        {"doomed": CohortSpec("attribute", members, {"guards": {"max_remove_percent": None}})}
    )
    project.apply()
    project.write({})
    sent = 0
    real_send = BrazeRemote.send

    def send_then_interrupt(self: BrazeRemote, batch: Any) -> Any:
        nonlocal sent
        sent += 1
        if sent == 3:  # Ctrl-C while the removals are on their way
            os.kill(os.getpid(), signal.SIGINT)
        return real_send(self, batch)

    monkeypatch.setattr(BrazeRemote, "send", send_then_interrupt)
    with pytest.raises(Interrupted):
        project.apply("--allow-destroy")
    monkeypatch.setattr(BrazeRemote, "send", real_send)
    recorded = project.recorded()
    assert "doomed" in recorded and 0 < len(recorded["doomed"]) < len(members)
    assert project.remote().members("attribute", "doomed") == recorded["doomed"]
    with project.store() as store:
        assert store.runs("doomed", limit=1)[0].result == "interrupted"
    project.apply("--allow-destroy")
    assert assert_converged(project, gone=[("attribute", "doomed")]) == {}


def test_a_moved_cohorts_old_id_stays_reserved_in_braze(make_project: MakeProject) -> None:
    project = make_project(population=200)
    members = ids("u", 0, 100)
    project.write({"old": CohortSpec("attribute", members)})
    project.apply()
    project.write({"new": CohortSpec("attribute", members, {"moved_from": "old"})})
    project.apply()
    # moved_from dropped, and a fresh cohort declared under the old id: both would write the
    # Braze value "old", and removing a member from one would remove it from the other.
    project.write(
        {"new": CohortSpec("attribute", members), "old": CohortSpec("attribute", ids("u", 50, 150))}
    )
    plan = project.plan()
    errored = plan.cohort("old").errored
    assert errored is not None and "already written by cohort 'new'" in errored
    assert plan.cohort("new").action == "noop"
    with pytest.raises(ApplyError, match="could not be planned"):
        project.apply()
    assert project.remote().members("attribute", "old") == set(members)
