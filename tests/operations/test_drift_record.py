"""`cohortops drift` records its counts in the audit log (drift.checked), never member ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from miniproject import cli, sandbox_with_users, write_project

from cohortops.apply.actor import Actor
from cohortops.config.model import StateConfig
from cohortops.operations import drift_record
from cohortops.sandbox import SandboxServer
from cohortops.state import open_store

MEMBERS = ["u000001", "u000002", "u000003"]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with sandbox_with_users(10) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, sandbox: SandboxServer) -> Path:
    configs = write_project(tmp_path / "configs", sandbox.base_url, {"a": MEMBERS, "b": MEMBERS})
    applied = cli("apply", "--auto-approve", "-c", str(configs), cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    return configs


def _entries(configs: Path) -> list[dict[str, object]]:
    store = open_store(StateConfig(path=configs / ".cohortops" / "state.db"), cwd=configs)
    try:
        return [
            {"cohort_id": e.cohort_id, "actor": e.actor, **e.data}
            for e in store.audit_entries()
            if e.kind == drift_record.KIND
        ]
    finally:
        store.close()


def test_drift_records_counts_per_cohort(
    tmp_path: Path, project: Path, sandbox: SandboxServer
) -> None:
    clean = cli("drift", "-c", str(project), cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    sandbox.seed_users([{"external_id": "u000002", "attributes": {"segs": []}}])
    drifted = cli("drift", "-c", str(project), "--format", "json", cwd=tmp_path)
    assert drifted.returncode == 2, drifted.stderr
    first = json.loads(drifted.stdout)[0]  # stdout stays JSON
    assert first["missing_value"] == ["u000002"]
    assert (first["missing_count"], first["not_recorded_count"]) == (1, None)  # a sample
    entries = _entries(project)
    assert [(e["cohort_id"], e["drifted"], e["missing"]) for e in entries] == [
        ("a", False, 0),
        ("b", False, 0),
        ("a", True, 1),
        ("b", True, 1),
    ]
    assert set(entries[0]) == {
        "cohort_id", "actor", "complete", "method", "checked", "recorded", "missing",
        "unexpected", "drifted", "who", "trigger", "git_commit", "pull_request",
    }  # fmt: skip
    assert entries[2]["checked"] == 3 and entries[2]["unexpected"] is None  # a sample
    assert not any(m in json.dumps(entries) for m in MEMBERS)
    log = cli("audit", "log", "-c", str(project), cwd=tmp_path).stdout
    assert "drift.checked [a]" in log and "missing=1" in log


def test_a_busy_state_leaves_the_check_unrecorded(tmp_path: Path, project: Path) -> None:
    holder = open_store(StateConfig(path=project / ".cohortops" / "state.db"), cwd=project)
    try:
        with holder.lock("apply", "someone@else"):
            result = cli("drift", "-c", str(project), cwd=tmp_path)
    finally:
        holder.close()
    assert result.returncode == 0, result.stderr
    assert "Drift result not recorded in the audit log" in result.stderr
    assert _entries(project) == []


def test_complete_rows_count_both_directions_and_skipped_ones_are_left_out() -> None:
    complete = {
        "cohort_id": "m",
        "method": "attribute",
        "checked": 9,
        "recorded": 9,
        "drifted": True,
        "complete": True,
        "missing_count": 2,
        "not_recorded_count": 5,
        "missing": ["id-x", "id-y"],
        "not_recorded": ["id-z"],
    }
    data = drift_record.entry_data(complete)
    assert data is not None
    assert (data["missing"], data["unexpected"], data["complete"]) == (2, 5, True)
    assert "id-" not in json.dumps(data)
    assert drift_record.entry_data({"cohort_id": "d", "skipped_reason": "device ids"}) is None
    assert drift_record.record(None, [], Actor("w", "manual", None, None), "x") is None  # type: ignore[arg-type]


def test_no_state_means_nothing_recorded(tmp_path: Path) -> None:
    empty = open_store(StateConfig(path=tmp_path / "none.db"), cwd=tmp_path, create=False)
    try:
        row = {
            "cohort_id": "c", "checked": 1, "recorded": 1, "drifted": False,
            "missing_count": 0, "not_recorded_count": None,
        }  # fmt: skip
        lineage = empty.snapshot().lineage
        assert drift_record.record(empty, [row], Actor("w", "manual"), lineage) is None
        assert list(empty.audit_entries()) == []
    finally:
        empty.close()
    assert not (tmp_path / "none.db").exists()
