from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_loop_and_converges() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cohortops", "demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = ["$ cohortops validate", "$ cohortops plan", "$ cohortops apply", "$ cohortops history"]
    assert all(s in out for s in steps), out
    assert [out.index(s) for s in steps] == sorted(out.index(s) for s in steps)
    assert "Plan: 6 cohorts to change, +14,800 / -0 members" in out
    # churn-risk reads the sandbox's Lytics audience; power-users feeds Kubit and the Lytics API;
    # braze-engaged-to-lytics reads the sandbox's Braze segment and writes to its Lytics API
    assert "Lytics sandbox audience churn_risk: 2,050 profiles." in out
    assert "Braze sandbox segment engaged_30d: 1,250 users." in out
    assert "churn-risk: +2,050 / -0" in out and "power-users@braze-to-lytics: +3,000 / -0" in out
    assert "power-users: +3,000 / -0" in out and "braze-engaged-to-lytics: +1,250 / -0" in out
    assert out.count("No changes: the state matches the configuration.") == 1
    header, *history = out[out.index("$ cohortops history") :].split("\n\n")[0].splitlines()[1:]
    assert len(history) == 6, history
    column = header.index("trigger")  # "manual", or "ci" under CI=true
    # aligned for pair ids (cohort@connection)
    assert all(line[column - 1] == " " and line[column] != " " for line in history), history
    assert "Audit log intact" in out


def test_demo_outside_the_repository_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cohortops", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Run the demo from the cohortops repository root" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_keep_leaves_the_state_and_first_plan_for_the_dashboard(tmp_path: Path) -> None:
    import shutil

    import pytest

    from cohortops.config.model import StateConfig
    from cohortops.errors import CohortopsError
    from cohortops.operations.context import App
    from cohortops.operations.demo import run_demo
    from cohortops.plan.planfile import read_plan

    configs = tmp_path / "configs"
    shutil.copytree(REPO / "configs", configs)
    keep = tmp_path / ".cohortops" / "state.db"
    lines: list[str] = []
    run_demo(configs, lines.append, keep=keep)
    assert "Kept the state in" in lines[-1]
    plan = read_plan(configs / "demo.plan")
    assert plan.summary.members_to_add == 14_800
    with App(configs, state_override=StateConfig(path=keep)).store() as store:
        assert len(store.runs()) == 6 and store.verify_audit() is None
    with pytest.raises(CohortopsError, match="already exists"):
        run_demo(configs, lines.append, keep=keep)
