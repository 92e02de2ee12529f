"""A flaky Braze: retries converge with nothing lost; rejected members stay out of the state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from cohortops.errors import ApplyError
from cohortops.sandbox import track
from cohortops.sandbox.attributes import InvalidValue

from .conftest import MakeProject
from .harness import CohortSpec, Project, assert_converged, ids

FAULTS = {
    "fault_rate": 0.1,  # 502/503/504
    "burst_429_rate": 0.05,
    "burst_429_length": 3,
    "drop_after_apply_rate": 0.1,  # applied, then the connection is cut: the client never knows
    "locked_423_rate": 0.05,  # cohort endpoints
    "seed": 1234,
}
NO_GUARD = {"guards": {"max_remove_percent": None}}


def test_faults_converge_in_one_run(make_project: MakeProject) -> None:
    project = make_project(population=6_000, **FAULTS)
    rounds = [
        (ids("u", 0, 3000), ids("u", 0, 5000)),
        (ids("u", 1500, 4500), ids("u", 2000, 6000)),
    ]
    for attribute_members, import_members in rounds:
        project.write(
            {
                "att": CohortSpec("attribute", attribute_members, NO_GUARD),
                "imp": CohortSpec("cohort_import", import_members, NO_GUARD),
            }
        )
        out = project.apply()
        assert not any("failed" in line for line in out), out
        recorded = assert_converged(project)
        assert recorded == {"att": set(attribute_members), "imp": set(import_members)}
    fired = project.sandbox.counters()["faults"]
    assert sum(fired.get(status, 0) for status in ("502", "503", "504")) > 0, fired
    for kind in ("burst_429", "drop_after_apply", "423"):
        assert fired.get(kind, 0) > 0, fired


def test_workspace_rate_limit_below_our_share_converges(make_project: MakeProject) -> None:
    # Other traffic of the workspace leaves us less than requests_per_second: real 429s with
    # X-RateLimit-* headers, which the client must wait out rather than count as failures.
    project = make_project(population=4_000, rate_limit=20, rate_window_seconds=0.5)
    members = ids("u", 0, 3000)
    project.write(
        {
            "att": CohortSpec("attribute", members, NO_GUARD),
            "imp": CohortSpec("cohort_import", members, NO_GUARD),
        }
    )
    started = time.monotonic()
    out = project.apply()
    elapsed = time.monotonic() - started
    assert not any("failed" in line for line in out), out
    assert assert_converged(project) == {"att": set(members), "imp": set(members)}
    # The workspace allows 40 req/s; whether the client waited out 429s or throttled ahead of
    # them from X-RateLimit-Remaining, the writes cannot have gone faster than that.
    requests = project.sandbox.counters()["requests_total"]
    assert elapsed >= 0.8 * requests / 40, (elapsed, requests)


@pytest.mark.parametrize("fault", ["fault_rate", "drop_after_apply_rate"])
def test_exhausted_retries_record_nothing_unacknowledged(
    make_project: MakeProject, fault: str
) -> None:
    project = make_project(population=2_000)
    project.write({"imp": CohortSpec("cohort_import", ids("u", 0, 600), NO_GUARD)})
    project.apply()
    project.write({"imp": CohortSpec("cohort_import", ids("u", 100, 800), NO_GUARD)})
    project.sandbox.set_faults(**{fault: 1.0})  # every request fails (or its answer is lost)

    lines: list[str] = []
    with pytest.raises(ApplyError, match="still failed after 8 attempt") as caught:
        lines.extend(project.apply_lines())
    assert ".." not in str(caught.value)
    # The removals went first, as one request of 100 ids: each counted once, then the cohort
    # stopped before its adds.
    assert any("imp: +0 / -0, 100 failed" in line for line in lines), lines
    with project.store() as store:
        run = store.runs("imp", limit=1)[0]
        journal = store.unfinished_applies()
    assert (run.result, run.failed, run.total_members) == ("failed", 100, 600)
    assert journal == []  # a failed apply still closes its journal entry
    assert project.recorded() == {"imp": set(ids("u", 0, 600))}
    held = project.remote().members("cohort_import", "imp")
    if fault == "fault_rate":
        assert held == set(ids("u", 0, 600))
    else:  # applied but never acknowledged: Braze moved ahead of the state, never behind
        assert held == set(ids("u", 100, 600))

    project.sandbox.set_faults(**{fault: 0.0})
    project.apply()
    assert assert_converged(project) == {"imp": set(ids("u", 100, 800))}


@pytest.fixture
def reject(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """External ids the sandbox's /users/track reports as invalid (partial success)."""
    rejected: set[str] = set()
    original = track.parse_identifier

    def parse_identifier(obj: dict[str, Any]) -> tuple[str, Any]:
        kind, ident = original(obj)
        if ident in rejected:
            raise InvalidValue(f"'{kind}' is not a valid identifier")
        return kind, ident

    monkeypatch.setattr(track, "parse_identifier", parse_identifier)
    yield rejected


def test_rejected_members_stay_out_of_the_state_and_are_retried(
    make_project: MakeProject, reject: set[str]
) -> None:
    project = make_project(population=1_000)
    members = ids("u", 0, 200)
    project.write({"att": CohortSpec("attribute", members, NO_GUARD)})
    reject.update({"u000050", "u000150", "u000151"})  # not in the plan's sample

    result = project.cli("apply", "--auto-approve")
    assert result.returncode == 1
    assert "Braze rejected 3 member change(s)" in result.stderr
    assert "att: +197 / -0, 3 failed" in result.stdout
    for member in sorted(reject):
        assert member in result.stdout, result.stdout  # the summary names them
    recorded = project.recorded()
    assert recorded == {"att": set(members) - reject}
    remote = project.remote()
    assert remote.members("attribute", "att") == recorded["att"]
    retry = project.plan().cohort("att")
    assert set(retry.to_add.to_pylist()) == reject
    assert len(retry.to_remove) == 0

    # A removal Braze rejects stays recorded, so the next plan removes it again.
    reject.clear()
    reject.add("u000012")
    project.write({"att": CohortSpec("attribute", ids("u", 20, 200), NO_GUARD)})
    lines = collect(project)
    assert any("att: +3 / -19, 1 failed" in line for line in lines), lines
    assert any("u000012" in line for line in lines), lines
    recorded = project.recorded()
    assert recorded["att"] == set(ids("u", 20, 200)) | {"u000012"}
    assert project.remote().members("attribute", "att") == recorded["att"]
    retry = project.plan().cohort("att")
    assert retry.to_remove.to_pylist() == ["u000012"] and len(retry.to_add) == 0

    reject.clear()
    project.apply()
    assert assert_converged(project) == {"att": set(ids("u", 20, 200))}


def collect(project: Project) -> list[str]:
    """Apply in-process; the output lines, up to the error a partial failure raises."""
    lines: list[str] = []
    with pytest.raises(ApplyError, match="rejected 1 member change"):
        for line in project.apply_lines():
            lines.append(line)
    return lines
