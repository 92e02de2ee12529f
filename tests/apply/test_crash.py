"""Kill `cohortops apply` (SIGKILL, SIGINT) at random points: nothing is lost or invented.

The apply runs as a real subprocess against a slow sandbox (latency + a low request rate) so it
lasts a second or two; the test process kills it after a seeded random delay counted from its
first request, then compares the state with the sandbox.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from .conftest import MakeProject
from .harness import CohortSpec, Project, assert_converged, ids

SLOW = {"latency_ms": 30, "latency_jitter_ms": 20}
RATE = 20.0  # requests per second: each round below takes about two seconds
NO_GUARD = {"guards": {"max_remove_percent": None}}


def rounds() -> list[dict[str, CohortSpec]]:
    """Desired sets for successive applies: a create, then churn, then mostly removals.

    Each round sends about 35 requests (75 ids each for the attribute, 1,000 for cohort import),
    nearly two seconds at ``RATE``.
    """
    sizes = [((0, 2250), (0, 6000)), ((1100, 3350), (3000, 9000)), ((3000, 3600), (7000, 10_000))]
    return [
        {
            "a-att": CohortSpec("attribute", ids("u", *att), NO_GUARD),
            "b-imp": CohortSpec("cohort_import", ids("u", *imp), NO_GUARD),
        }
        for att, imp in sizes
    ]


@dataclass(frozen=True)
class Change:
    """One cohort's change in a round, from the converged state before it."""

    method: str
    before: frozenset[str]
    adds: frozenset[str]
    removes: frozenset[str]


def changes(project: Project) -> dict[str, Change]:
    recorded = project.recorded()
    out = {}
    for cohort_id, spec in project.cohorts.items():
        before = frozenset(recorded.get(cohort_id, set()))
        desired = frozenset(spec.members)
        out[cohort_id] = Change(spec.method, before, desired - before, before - desired)
    return out


def remote_id_map(project: Project) -> dict[str, tuple[str, str]]:
    known = project.remote_ids()
    return {cid: known.get(cid, (spec.method, cid)) for cid, spec in project.cohorts.items()}


def check_nothing_invented_or_lost(project: Project, plan: Mapping[str, Change]) -> None:
    """After a kill: the state claims no add the sandbox lacks and no removal it still holds."""
    recorded = project.recorded()
    remote = project.remote()
    for cohort_id, (method, remote_id) in remote_id_map(project).items():
        change = plan[cohort_id]
        rec = recorded.get(cohort_id, set())
        held = remote.members(method, remote_id)
        untouched = change.before - change.removes
        assert untouched <= rec and untouched <= held, cohort_id
        assert rec <= change.before | change.adds, f"{cohort_id}: state invented members"
        assert held <= change.before | change.adds, f"{cohort_id}: sandbox got unplanned members"
        claimed = rec & change.adds
        assert claimed <= held, (
            f"{cohort_id}: state records {len(claimed - held)} adds the sandbox never got, "
            f"e.g. {sorted(claimed - held)[:3]}"
        )
        recorded_gone = change.removes - rec
        assert not recorded_gone & held, (
            f"{cohort_id}: state records {len(recorded_gone & held)} removals the sandbox "
            f"still holds, e.g. {sorted(recorded_gone & held)[:3]}"
        )


def wait_for_requests(project: Project, after: int, proc: subprocess.Popen[str]) -> bool:
    """Until the sandbox saw a request beyond ``after`` (True) or the apply exited (False)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if project.sandbox.counters()["requests_total"] > after:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    proc.kill()
    raise AssertionError("the apply sent nothing within 30 s")


def unfinished(project: Project) -> list[str]:
    with project.store() as store:
        return [j.apply_id for j in store.unfinished_applies()]


def kill_once(
    project: Project, plan: Mapping[str, Change], rng: random.Random, sig: int
) -> subprocess.CompletedProcess[str] | None:
    """Start an apply, send ``sig`` after a random delay; None when it finished first."""
    before = project.sandbox.counters()["requests_total"]
    journal = unfinished(project)
    proc = project.spawn("apply", "--auto-approve")
    try:
        if not wait_for_requests(project, before, proc):
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
            return None
        time.sleep(rng.uniform(0.0, 0.8))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode == 0:
        return None  # it finished before the signal landed
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        after = unfinished(project)
        # the killed apply closed any earlier one as abandoned, and is now the only open one
        assert len(after) == 1 and after != journal, (journal, after)
        warnings = [w.message for w in project.plan().warnings]
        assert any(f"apply {after[0]}" in w and "did not finish" in w for w in warnings)
        with project.store() as store:
            assert store.current_lock() is None, "the lock outlived its holder"
    check_nothing_invented_or_lost(project, plan)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def resume(project: Project) -> None:
    """`apply --auto-approve` again: no `state unlock` needed, and it converges."""
    result = project.cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stderr
    assert "lock" not in result.stderr.lower(), result.stderr
    assert_converged(project)
    for cohort_id, members in project.recorded().items():
        assert members == project.desired(cohort_id)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "kills_per_round", "round_count", "at_least"),
    [("sqlite", 4, 3, 10), pytest.param("postgres", 3, 1, 2, marks=pytest.mark.postgres)],
)
def test_sigkill_at_random_points(
    make_project: MakeProject, backend: str, kills_per_round: int, round_count: int, at_least: int
) -> None:
    project = make_project(backend, population=10_000, requests_per_second=RATE, **SLOW)
    rng = random.Random(20240611)
    kills = 0
    for desired in rounds()[:round_count]:
        project.write(desired)
        plan = changes(project)
        for _ in range(kills_per_round):
            if kill_once(project, plan, rng, signal.SIGKILL) is None:
                break  # that apply finished before the kill: the round is done
            kills += 1
        resume(project)
    # The delays are seeded, but how far an apply gets in them depends on the machine.
    assert kills >= at_least, f"only {kills} kills landed mid-apply"
    # every killed apply was closed as abandoned by the apply after it, and audited
    assert unfinished(project) == []
    with project.store() as store:
        abandoned = [e for e in store.audit_entries() if e.kind == "apply.abandoned"]
        abandoned_runs = {r.apply_id for r in store.runs() if r.result == "abandoned"}
    assert len(abandoned) == kills
    # and `history` shows each killed apply, with why, once the next apply closed it
    assert abandoned_runs == {e.data["abandoned"] for e in abandoned}


@pytest.mark.slow
def test_ctrl_c_records_in_flight_batches_and_exits_130(make_project: MakeProject) -> None:
    project = make_project(population=10_000, requests_per_second=RATE, **SLOW)
    project.write(rounds()[0])
    plan = changes(project)
    result = None
    rng = random.Random(7)
    while result is None:
        result = kill_once(project, plan, rng, signal.SIGINT)
    assert result.returncode == 130, result.stderr

    # In-flight batches were recorded: the state equals the sandbox, exactly.
    recorded = project.recorded()
    remote = project.remote()
    for cohort_id, (method, remote_id) in remote_id_map(project).items():
        held = remote.members(method, remote_id)
        assert recorded.get(cohort_id, set()) == held, (
            f"{cohort_id}: {len(held - recorded.get(cohort_id, set()))} acknowledged members "
            "were not recorded"
        )
    assert "Interrupted" in result.stderr
    assert "Traceback" not in result.stderr
    assert unfinished(project) == []  # the journal closed the interrupted apply

    # The next plan is exactly the remainder.
    remainder = project.plan()
    assert remainder.has_changes
    for cohort_id in project.cohorts:
        cohort = remainder.cohort(cohort_id)
        desired = project.desired(cohort_id)
        rec = recorded.get(cohort_id, set())
        assert set(cohort.to_add.to_pylist()) == desired - rec
        assert set(cohort.to_remove.to_pylist()) == rec - desired
    resume(project)
