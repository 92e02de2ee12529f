"""plan --out: only a complete plan is saved; a missing directory is one line."""

from __future__ import annotations

from pathlib import Path

from miniproject import cli, write_project

from cohortops.operations.context import App
from cohortops.plan.planfile import write_plan

MEMBERS = {"good": ["u000001", "u000002"], "broken": ["u000003"]}


def broken_project(tmp_path: Path) -> Path:
    configs = write_project(tmp_path / "configs", "http://127.0.0.1:1", MEMBERS)
    (configs / "data" / "broken.csv").unlink()  # its source cannot be read: it cannot be planned
    return configs


def test_a_plan_with_a_cohort_that_failed_is_not_saved(tmp_path: Path) -> None:
    configs = broken_project(tmp_path)
    out = tmp_path / "cohorts.plan"
    out.write_bytes(b"an older plan")  # must not survive as if it were this run's plan
    result = cli("plan", "-c", str(configs), "--out", str(out), "--detailed-exitcode", cwd=tmp_path)
    assert result.returncode == 1
    assert not out.exists()
    assert "Error: cohort broken could not be planned:" in result.stderr
    assert f"No plan file was written to {out}" in result.stderr


def test_apply_refuses_a_plan_file_in_which_a_cohort_failed_whole(tmp_path: Path) -> None:
    configs = broken_project(tmp_path)
    app = App(configs)
    with app.store(create=False) as store:
        plan = app.plan(store)
    assert plan.has_errors and plan.has_changes
    out = tmp_path / "old.plan"
    write_plan(plan, out)  # as an older cohortops would have saved it
    result = cli("apply", "-c", str(configs), str(out), cwd=tmp_path)
    assert result.returncode == 1
    assert f"Plan file {out} is not a complete plan: broken could not be planned" in result.stderr
    assert not (configs / ".cohortops").exists()  # refused before anything, state included


def test_plan_out_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    configs = write_project(tmp_path / "configs", "http://127.0.0.1:1", {"good": ["u1"]})
    out = tmp_path / "nope" / "cohorts.plan"
    result = cli("plan", "-c", str(configs), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert (
        f"Cannot save the plan to {out}: the directory {out.parent} does not exist" in result.stderr
    )
