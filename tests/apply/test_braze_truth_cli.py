"""The CLI of import, plan/apply --refresh, apply --resync, drift and cancel (in process)."""

from __future__ import annotations

import json

from .conftest import MakeProject
from .harness import CohortSpec, ids
from .test_adopt import HELD, hold


def test_adoption_in_five_commands(make_project: MakeProject) -> None:
    project = make_project()
    project.sandbox.set_faults(segment_export_ready_ms=0)
    hold(project.sandbox, "attribute", HELD[:1_000])
    spec = CohortSpec("attribute", ids("u", 500, 1_500), {"braze_segment": "seg-adopted"})
    project.write({"adopted": spec})
    assert project.main("validate").returncode == 0
    imported = project.main("import", "adopted")
    assert imported.returncode == 0, imported.stderr
    assert "Imported 1,000 members of adopted from segment seg-adopted" in imported.stdout
    again = project.main("import", "adopted")
    assert again.returncode == 1
    assert "--replace" in again.stderr
    planned = project.main("plan", "--refresh")
    assert planned.returncode == 0, planned.stderr
    assert "adopted: none (1,000 in Braze, as recorded)" in planned.stdout
    assert "+500 / -500" in planned.stdout
    assert project.main("plan", "--refresh", "--out", "p.plan").returncode == 1
    applied = project.main("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    clean = project.main("drift")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no drift (every member compared)" in clean.stdout
    project.sandbox.seed_users([{"external_id": "u000100", "attributes": {"segs": ["adopted"]}}])
    drifted = project.main("drift")
    assert drifted.returncode == 2
    assert "in Braze but not recorded: 1: u000100" in drifted.stdout
    rows = json.loads(project.main("drift", "--format", "json").stdout)
    assert [(r["cohort_id"], r["complete"], r["not_recorded"]) for r in rows] == [
        ("adopted", True, ["u000100"])
    ]
    resynced = project.main("apply", "--auto-approve", "--resync", "adopted")
    assert resynced.returncode == 0, resynced.stderr
    assert project.main("drift").returncode == 0
    nothing = project.main("cancel")
    assert nothing.returncode == 1
    assert "No apply is running" in nothing.stderr
