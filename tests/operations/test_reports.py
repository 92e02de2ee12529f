"""The read-mostly reports: every audit entry kind renders, history keeps why, JSON everywhere."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohortops.config.model import StateConfig
from cohortops.operations.audit_report import audit_lines, describe
from cohortops.operations.history_report import JSON_KEYS, history_lines
from cohortops.operations.state_report import state_list_lines, state_show_lines
from cohortops.state import RunRecord, Store, open_store
from cohortops.state.schema import SCHEMA_VERSION

WHO = "tester@ci"
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)

# Every kind of entry cohortops writes, with the data shape it writes.
ENTRIES: list[tuple[str, str | None, dict[str, object]]] = [
    ("apply.start", None, {"apply_id": "a1", "cohorts": ["c"], "members_to_add": 3}),
    ("apply.end", None, {"apply_id": "a1", "result": "success"}),
    ("apply.abandoned", None, {"apply_id": "a2", "abandoned": "a0", "who": "x", "began_at": "t"}),
    ("guard.override", "c", {"apply_id": "a1", "flag": "--allow-empty", "guards": ["empty"]}),
    ("batch", "c", {"apply_id": "a1", "op": "add", "members": ["u1", "u2"]}),
    ("cohort.rename", "c", {"apply_id": "a1", "from": "old"}),
    ("cohort.destroy", "c", {"apply_id": "a1", "removed": 2}),
    ("state.forget", "c", {"members": 12, "who": WHO}),
    ("state.unlock", None, {"lock_id": "l1", "holder": "h", "operation": "apply"}),
    ("drift.checked", "c", {"complete": False, "checked": 3, "missing": 1, "unexpected": None}),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(StateConfig(path=tmp_path / "state.db"), cwd=tmp_path)
    yield opened
    opened.close()


def _fill(store: Store) -> None:
    with store.lock("test", WHO):
        store.upsert_cohort("c", {})
        for kind, cohort, data in ENTRIES:
            store.append_audit(kind, WHO, cohort, data)
        store.flush()


def test_every_audit_entry_kind_renders(store: Store) -> None:
    _fill(store)
    lines = list(audit_lines(store, None, None))
    assert [line.split()[4] for line in lines] == [kind for kind, _, _ in ENTRIES]
    forget = next(line for line in lines if "state.forget" in line)
    assert "members=12" in forget  # an int count, not a list: this used to raise TypeError
    batch = next(line for line in lines if " batch" in line)
    assert "members=2" in batch and "u1" not in batch


def test_audit_log_json_has_documented_keys_and_filters_by_cohort(store: Store) -> None:
    _fill(store)
    rows = json.loads("".join(audit_lines(store, "c", None, "json")))
    assert {tuple(sorted(r)) for r in rows} == {
        ("actor", "at", "cohort_id", "data", "hash", "kind", "prev_hash", "seq")
    }
    assert "guard.override" in [r["kind"] for r in rows]
    assert all(r["cohort_id"] == "c" for r in rows)


def test_describe_shows_dict_and_list_details_without_crashing(store: Store) -> None:
    _fill(store)
    entry = next(e for e in store.audit_entries() if e.kind == "guard.override")
    assert "flag=--allow-empty" in describe(entry)


def _run(
    minute: int, *, cohort_id: str = "c", result: str = "success", error: str | None = None
) -> RunRecord:
    start = T0 + dt.timedelta(minutes=minute)
    return RunRecord(
        cohort_id=cohort_id,
        trigger="manual",
        started_at=start,
        ended_at=start + dt.timedelta(seconds=5),
        result=result,
        error=error,
    )


def test_history_keeps_why_a_run_failed_in_text_and_json(store: Store) -> None:
    with store.lock("test", WHO):
        store.record_run(_run(0))
        store.record_run(_run(1, result="failed", error="BRAZE_API_KEY is not set"))
        store.flush()
    text = list(history_lines(store, None, "text", 10))
    failed = next(i for i, line in enumerate(text) if "manual   failed" in line)
    assert text[failed + 1].strip() == "why: BRAZE_API_KEY is not set"
    rows = json.loads("".join(history_lines(store, None, "json", 10)))
    assert [set(r) for r in rows] == [set(JSON_KEYS), set(JSON_KEYS)]
    assert rows[0]["error"] == "BRAZE_API_KEY is not set" and rows[1]["error"] is None


def test_history_is_in_time_order_even_when_recorded_out_of_order(store: Store) -> None:
    # One apply records its cohorts as they finish; a later row can have started earlier.
    with store.lock("test", WHO):
        store.record_run(_run(5, cohort_id="late"))
        store.record_run(_run(1, cohort_id="early"))
        store.flush()
    rows = json.loads("".join(history_lines(store, None, "json", 10)))
    assert [r["cohort_id"] for r in rows] == ["late", "early"]


def test_state_list_and_show_json(store: Store) -> None:
    _fill(store)
    listed = json.loads("".join(state_list_lines(store, "json")))
    assert set(listed) == {"state", "lineage", "serial", "cohorts"}
    assert listed["cohorts"][0]["cohort_id"] == "c"
    shown = json.loads("".join(state_show_lines(store, "c", 5, "json")))
    assert shown["cohort_id"] == "c" and shown["member_ids"] == []
    text = next(iter(state_list_lines(store)))
    assert "State sqlite state" not in text and text.startswith("Recorded in sqlite state")


def test_state_list_json_without_a_state_has_null_lineage(tmp_path: Path) -> None:
    empty = open_store(StateConfig(path=tmp_path / "none.db"), cwd=tmp_path, create=False)
    try:
        listed = json.loads("".join(state_list_lines(empty, "json")))
    finally:
        empty.close()
    assert listed["lineage"] is None and listed["cohorts"] == [] and listed["serial"] == 0
    assert not (tmp_path / "none.db").exists()


def test_a_version_1_state_is_migrated_and_keeps_its_runs(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    open_store(StateConfig(path=path), cwd=tmp_path).close()
    with sqlite3.connect(path) as conn:  # make it look like a state written before `error`
        conn.execute("ALTER TABLE cohortops_runs DROP COLUMN error")
        conn.execute("UPDATE cohortops_meta SET schema_version = 1")
        conn.execute(
            "INSERT INTO cohortops_runs (cohort_id, run_trigger, started_at, ended_at, result, "
            "added, removed, failed, total_members) VALUES ('old', 'manual', "
            "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:01.000000Z', 'success', 1, 0, 0, 1)"
        )
    conn.close()
    store = open_store(StateConfig(path=path), cwd=tmp_path)
    try:
        with store.lock("test", WHO):
            store.record_run(_run(0, result="failed", error="why"))
            store.flush()
        assert [(r.cohort_id, r.error) for r in store.runs()] == [("c", "why"), ("old", None)]
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT schema_version FROM cohortops_meta").fetchone()
        assert version == (SCHEMA_VERSION,)
    conn.close()
