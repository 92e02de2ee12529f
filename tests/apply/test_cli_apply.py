"""`cohortops apply` as users run it: saved plans, staleness, guards, the audit trail.

Commands go through the CLI's real entry point; most run in this process (``project.main``), the
exit codes that matter most once more as a real subprocess (``project.cli``).
"""

from __future__ import annotations

import pytest

from .conftest import MakeProject
from .harness import CohortSpec, assert_converged, ids


def both(imported: list[str], attribute: list[str]) -> dict[str, CohortSpec]:
    return {"imp": CohortSpec("cohort_import", imported), "att": CohortSpec("attribute", attribute)}


def test_saved_plan_applies_exactly_and_then_is_stale(
    make_project: MakeProject, backend: str
) -> None:
    project = make_project(backend, population=2_000)
    first = ids("u", 0, 300)
    project.write(both(first, first))
    result = project.main("plan", "--out", "first.plan")
    assert result.returncode == 0, result.stderr
    # The sources move on after the review: apply carries out the reviewed plan, not the new one.
    later = ids("u", 0, 400)
    project.write(both(later, later))
    result = project.main("apply", "first.plan")
    assert result.returncode == 0, result.stderr
    assert project.recorded() == {"imp": set(first), "att": set(first)}
    project.write(both(first, first))
    assert_converged(project)

    # Two plans made against the same state: once one is applied, the other is stale.
    project.write(both(later, first))
    assert project.main("plan", "--out", "a.plan").returncode == 0
    assert project.main("plan", "--out", "b.plan").returncode == 0
    result = project.main("apply", "a.plan", "--auto-approve")
    assert result.returncode == 0, result.stderr
    requests = project.sandbox.counters()["requests_total"]
    recorded = project.recorded()
    result = project.cli("apply", "b.plan")
    assert result.returncode == 1
    assert "Saved plan is stale" in result.stderr
    assert "Traceback" not in result.stderr
    assert project.sandbox.counters()["requests_total"] == requests  # nothing was sent
    assert project.recorded() == recorded
    assert_converged(project)


def test_saved_plan_is_stale_when_its_workspace_wiring_changed(make_project: MakeProject) -> None:
    project = make_project(population=500)
    project.write(both(ids("u", 0, 100), ids("u", 0, 100)))
    assert project.main("plan", "--out", "reviewed.plan").returncode == 0
    config = project.configs / "cohortops.yaml"
    text = config.read_text()
    # The destination's key variable is wiring: the plan could reach another workspace.
    config.write_text(text.replace("${env:BRAZE_API_KEY}", "${env:OTHER_BRAZE_KEY}"))
    requests = project.sandbox.counters()["requests_total"]
    result = project.cli("apply", "reviewed.plan")
    assert result.returncode == 1
    assert "Saved plan is stale: the endpoints or credential variables" in result.stderr
    assert project.sandbox.counters()["requests_total"] == requests
    config.write_text(text)
    assert project.main("apply", "reviewed.plan").returncode == 0


def test_mass_removal_guard_blocks_until_overridden_and_is_audited(
    make_project: MakeProject,
) -> None:
    project = make_project(population=1_000)
    members = ids("u", 0, 200)
    project.write({"att": CohortSpec("attribute", members)})
    project.apply()
    project.write({"att": CohortSpec("attribute", members[:50])})  # -75% > the default 50%

    result = project.main("plan", "--detailed-exitcode")
    assert result.returncode == 2, result.stderr
    assert "--allow-mass-removal" in result.stdout
    requests = project.sandbox.counters()["requests_total"]
    attempts = [
        project.cli("apply", "--auto-approve"),
        project.main("apply", "--auto-approve", "--allow-destroy"),
    ]
    for result in attempts:
        assert result.returncode == 1, result.stdout
        assert "--allow-mass-removal" in result.stderr
        assert "Traceback" not in result.stderr
    assert project.main("plan", "--out", "blocked.plan").returncode == 0
    result = project.main("apply", "blocked.plan")
    assert result.returncode == 1
    assert "Apply refused by guards" in result.stderr
    assert project.sandbox.counters()["requests_total"] == requests
    assert project.recorded() == {"att": set(members)}

    result = project.main("apply", "--auto-approve", "--allow-mass-removal")
    assert result.returncode == 0, result.stderr
    assert_converged(project)
    log = project.main("audit", "log")
    assert log.returncode == 0, log.stderr
    overrides = [line for line in log.stdout.splitlines() if "guard.override" in line]
    assert len(overrides) == 1, log.stdout
    assert "--allow-mass-removal" in overrides[0]
    assert "tester@ci" in overrides[0]


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_audit_verify_detects_tampering(
    make_project: MakeProject, backend: str, tamper: str
) -> None:
    project = make_project(backend, population=1_000)
    project.write({"att": CohortSpec("attribute", ids("u", 0, 100))})
    project.apply()
    project.write({"att": CohortSpec("attribute", ids("u", 50, 150))})
    project.apply()
    result = project.main("audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout

    seqs = [row[0] for row in project.sql("SELECT seq FROM cohortops_audit ORDER BY seq")]
    assert len(seqs) >= 6
    victim = seqs[len(seqs) // 2]
    if tamper == "edit":
        data = project.sql("SELECT data FROM cohortops_audit WHERE seq = ?", (victim,))[0][0]
        forged = data.replace("tester@ci", "someone@else") if "tester@ci" in data else data + " "
        project.sql("UPDATE cohortops_audit SET data = ? WHERE seq = ?", (forged, victim))
        expected = f"audit entry {victim}: does not match its hash"
    else:
        project.sql("DELETE FROM cohortops_audit WHERE seq = ?", (victim,))
        expected = f"audit entry {victim}: is missing"
    result = project.cli("audit", "verify")
    assert result.returncode == 1, result.stdout
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_apply_fails_when_a_source_cannot_be_read(make_project: MakeProject) -> None:
    project = make_project(population=1_000)
    project.write({"a": CohortSpec("attribute", ids("u", 0, 50))})
    project.apply()
    project.write({"a": CohortSpec("attribute", ids("u", 0, 50)), "b": CohortSpec("attribute", [])})
    (project.configs / "data" / "a.csv").unlink()
    (project.configs / "data" / "b.csv").write_text("user_id\nu000001\n")

    result = project.main("apply", "--auto-approve")
    assert result.returncode == 1, result.stdout
    assert "could not be planned" in result.stderr
    assert project.recorded() == {"a": set(ids("u", 0, 50)), "b": {"u000001"}}

    # Nothing else to do: still a failure, not "no changes" (a scheduled apply must not pass).
    result = project.main("apply", "--auto-approve")
    assert result.returncode == 1, result.stdout
    assert "could not be planned" in result.stderr
