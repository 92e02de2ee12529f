"""Lytics end to end against the sandbox: a Lytics-sourced cohort delivered to Braze, and a
file-sourced cohort delivered to a Lytics destination. Each goes plan → apply → no-change plan,
then a changed membership is applied by a subprocess killed with SIGKILL and resumed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cohortops.sandbox.config import DEFAULT_LYTICS_TOKEN

from .conftest import MakeProject
from .harness import ATTRIBUTE, Project, ids

TOKEN_ENV = {"LYTICS_TOKEN": DEFAULT_LYTICS_TOKEN}
FIELD = "braze_cohorts"
STREAM = "braze_users"
NO_GUARD = {"max_remove_percent": None}


def write_config(project: Project, cohorts: dict[str, Any], rps: float = 1000.0) -> None:
    base = project.sandbox.base_url
    document = {
        "version": 1,
        "state": dict(project.state),
        "destinations": {
            "braze": {
                "rest_endpoint": base,
                "api_key": "${env:BRAZE_API_KEY}",
                "requests_per_second": rps,
            },
            "lytics-prod": {
                "kind": "lytics",
                "rest_endpoint": f"{base}/lytics",
                "api_key": "${env:LYTICS_TOKEN}",
                "stream": STREAM,
                "id_field": "external_id",
                "requests_per_second": rps,
                "records_per_request": 100,
            },
        },
        "connections": {
            "attr": {
                "partner": "lytics",
                "destination": "braze",
                "delivery": {"method": "attribute", "attribute": ATTRIBUTE},
            },
            "to-lytics": {
                "partner": "braze",
                "destination": "lytics-prod",
                "delivery": {"method": "attribute", "attribute": FIELD},
            },
        },
        "cohorts": cohorts,
    }
    project.configs.mkdir(parents=True, exist_ok=True)
    (project.configs / "cohortops.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def lytics_source(project: Project, segment: str) -> dict[str, Any]:
    return {
        "lytics": {
            "segment": segment,
            "token": "${env:LYTICS_TOKEN}",
            "id_field": "external_id",
            "endpoint": f"{project.sandbox.base_url}/lytics",
            "page_size": 500,
        }
    }


def file_source(project: Project, name: str, members: list[str]) -> dict[str, Any]:
    data = project.configs / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / f"{name}.csv").write_text("user_id\n" + "".join(f"{m}\n" for m in members))
    return {"file": f"data/{name}.csv", "column": "user_id"}


def braze_members(project: Project, value: str) -> set[str]:
    held = set()
    for user in project.sandbox.state()["users"]:
        if value in (user.get("custom_attributes", {}).get(ATTRIBUTE) or []):
            held.add(user["external_id"])
    return held


def lytics_members(project: Project, key: str) -> set[str]:
    members = project.sandbox.lytics_state()["members"]
    return set(members.get(STREAM, {}).get(FIELD, {}).get(key, []))


READS = ("/lytics/scan", "/users/export/segment")


def writes(project: Project) -> int:
    """Requests so far that change membership (scans and segment exports excluded)."""
    requests = project.sandbox.counters()["requests"]
    return sum(sum(c.values()) for e, c in requests.items() if e not in READS)


def kill_mid_apply(project: Project) -> None:
    """Start `apply` as a subprocess and SIGKILL it after its first membership writes."""
    before = writes(project)
    proc = project.spawn("apply", "--auto-approve")
    try:
        deadline = time.monotonic() + 30
        while writes(project) < before + 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the apply sent nothing"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def resume(project: Project) -> None:
    result = project.cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stderr


@pytest.fixture
def project(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> Project:
    made = make_project(population=5000, latency_ms=20)
    made.env.update(TOKEN_ENV)
    for name, value in TOKEN_ENV.items():
        monkeypatch.setenv(name, value)
    return made


def test_lytics_source_to_braze_plan_apply_kill_resume(project: Project) -> None:
    sandbox = project.sandbox
    sandbox.add_lytics_audience(
        {
            "id": "aud-1",
            "slug": "churn_risk",
            "range": {"prefix": "u", "count": 1500, "width": 6, "missing_every": 500},
        }
    )
    cohort = {"connection": "attr", "identifier": "external_id", "guards": NO_GUARD}
    write_config(project, {"churn": {**cohort, "source": lytics_source(project, "churn_risk")}})
    expected = set(ids("u", 0, 1500)) - {"u000499", "u000999", "u001499"}

    plan = project.plan()
    churn = plan.cohort("churn")
    assert churn.adds == len(expected)
    assert churn.skipped == {"missing_id_field": 3}
    assert "lytics segment churn_risk profile 500" in [i.where for i in churn.source_issues]
    project.apply()
    assert project.recorded()["churn"] == expected == braze_members(project, "churn")
    assert not project.plan().has_changes

    # the audience moves; the sync is killed half-way and resumed
    sandbox.add_lytics_audience(
        {
            "id": "aud-1",
            "slug": "churn_risk",
            "range": {"prefix": "u", "start": 1000, "count": 2000, "width": 6},
        }
    )
    write_config(
        project, {"churn": {**cohort, "source": lytics_source(project, "aud-1")}}, rps=20.0
    )
    kill_mid_apply(project)
    recorded = project.recorded()["churn"]
    assert recorded <= braze_members(project, "churn") | expected  # nothing invented
    resume(project)
    wanted = set(ids("u", 1000, 3000))
    assert project.recorded()["churn"] == wanted == braze_members(project, "churn")
    assert not project.plan().has_changes


def test_braze_cohort_to_lytics_destination_plan_apply_kill_resume(project: Project) -> None:
    first = ids("u", 0, 1200)
    cohort = {"connection": "to-lytics", "identifier": "external_id", "guards": NO_GUARD}
    write_config(project, {"vip": {**cohort, "source": file_source(project, "vip", first)}})
    plan = project.plan()
    assert plan.cohort("vip").adds == 1200
    assert plan.cohort("vip").batch_size == 100
    project.apply()
    assert project.recorded()["vip"] == set(first) == lytics_members(project, "vip")
    assert not project.plan().has_changes

    second = ids("u", 600, 3000)
    source = file_source(project, "vip", second)
    write_config(project, {"vip": {**cohort, "source": source}}, rps=20.0)
    kill_mid_apply(project)
    recorded = project.recorded()["vip"]
    held = lytics_members(project, "vip")
    assert recorded - set(first) <= held, "the state claims adds Lytics never got"
    assert not (set(first) - recorded) & held - set(second), "a recorded removal is still held"
    resume(project)
    assert project.recorded()["vip"] == set(second) == lytics_members(project, "vip")
    assert not project.plan().has_changes


def test_lytics_errors_are_one_line_without_the_token(project: Project) -> None:
    cohort = {"connection": "attr", "identifier": "external_id"}
    write_config(project, {"churn": {**cohort, "source": lytics_source(project, "nope")}})
    plan = project.plan()
    error = plan.cohort("churn").errored or ""
    assert "404" in error and "segment not found: nope" in error
    assert DEFAULT_LYTICS_TOKEN not in error and "\n" not in error


def test_config_rejects_two_source_kinds(tmp_path: Path) -> None:
    from cohortops.config import load_config
    from cohortops.errors import ConfigError

    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "destinations": {"b": {"rest_endpoint": "https://x", "api_key": "${env:K}"}},
                "connections": {
                    "c": {
                        "partner": "p",
                        "destination": "b",
                        "delivery": {"method": "attribute", "attribute": "a"},
                    }
                },
                "cohorts": {
                    "x": {
                        "connection": "c",
                        "identifier": "external_id",
                        "source": {
                            "file": "a.csv",
                            "lytics": {"segment": "s", "token": "${env:T}"},
                        },
                    }
                },
            }
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "exactly one of 'file', 'sql', 'lytics' or 'braze_segment'" in str(info.value)


def test_large_first_sync_to_lytics_goes_as_bulk_csv(project: Project) -> None:
    from cohortops.lytics import BULK_THRESHOLD

    members = ids("u", 0, BULK_THRESHOLD)
    cohort = {"connection": "to-lytics", "identifier": "external_id", "guards": NO_GUARD}
    write_config(project, {"big": {**cohort, "source": file_source(project, "big", members)}})
    plan = project.plan()
    assert plan.cohort("big").cost.data_points == 0
    project.apply()
    state = project.sandbox.lytics_state()
    assert state["bulk_uploads"] == 1
    assert project.recorded()["big"] == set(members) == lytics_members(project, "big")
    # later changes are incremental JSON batches
    write_config(project, {"big": {**cohort, "source": file_source(project, "big", members[:-10])}})
    project.apply()
    assert project.sandbox.lytics_state()["bulk_uploads"] == 1
    assert lytics_members(project, "big") == set(members[:-10])
    assert not project.plan().has_changes


def test_lytics_map_field_has_no_array_capacity_or_overflow(project: Project) -> None:
    cohort = {"connection": "to-lytics", "identifier": "external_id"}
    cohorts = {
        f"c{i}": {**cohort, "source": file_source(project, f"c{i}", ["u000001", "u000002"])}
        for i in range(30)  # more than the default max_array_length (25), every user in all
    }
    write_config(project, cohorts)
    plan = project.plan()
    assert [g.kind for g in plan.guards] == []
    assert plan.summary.members_to_add == 60
