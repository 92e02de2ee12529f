"""Identity, serial bumps and cohort records, on every backend."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Callable

import pytest

from cohortops.errors import StateError
from cohortops.state import RunRecord, Store
from cohortops.state.snapstore import RETIRED_GRACE_SECONDS

from .conftest import Backend
from .helpers import WHO, ids, locked, recorded_set


def test_new_state_has_a_lineage_and_serial_zero(store: Store) -> None:
    snap = store.snapshot()
    assert uuid.UUID(snap.lineage)
    assert snap.serial == 0
    assert snap.cohorts == {}


def test_lineage_is_fixed_and_serial_persists_across_opens(backend: Backend) -> None:
    first = backend.open()
    with locked(first):
        first.upsert_cohort("a", {"v": 1})
    before = first.snapshot()
    first.close()
    again = backend.open().snapshot()
    assert (again.lineage, again.serial) == (before.lineage, 1)
    assert again.cohorts["a"].settings == {"v": 1}


def test_state_changes_bump_the_serial_and_bookkeeping_does_not(store: Store) -> None:
    """The serial says whether a saved plan is stale: only what a plan reads moves it."""

    def serial() -> int:
        return store.snapshot().serial

    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with locked(store):
        changes: list[Callable[[], object]] = [
            lambda: store.upsert_cohort("a", {"v": 1}),
            lambda: store.upsert_cohort("a", {"v": 2}),
            lambda: (store.record_batch("a", "add", ["u1"]), store.flush()),
            lambda: store.rename_cohort("a", "b"),
            lambda: store.forget_cohort("b"),
        ]
        bookkeeping: list[Callable[[], object]] = [
            lambda: store.mark_applied("a", start),
            lambda: store.journal_begin("ap-1", "digest", {"adds": 1}),
            lambda: store.journal_end("ap-1", "success"),
            lambda: store.append_audit("apply", WHO, None, {"x": 1}),
            lambda: store.record_run(
                RunRecord("a", "manual", start, start, "success", added=1, total_members=1)
            ),
            lambda: store.compact("a"),
        ]
        for number, step in enumerate(changes[:3], start=1):
            step()
            assert serial() == number, f"change {number}"
        for number, step in enumerate(bookkeeping, start=1):
            step()
            assert serial() == 3, f"bookkeeping {number}"
        for number, step in enumerate(changes[3:], start=4):
            step()
            assert serial() == number, f"change {number}"
    # Lock bookkeeping is not a state change either: a saved plan stays valid across locks.
    with locked(store):
        pass
    assert serial() == len(changes)


def test_group_commit_bumps_once_for_many_batches(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("a", {})
        before = store.snapshot().serial
        for start in range(0, 300, 75):
            store.record_batch("a", "add", ids("u", 75, start))
        store.flush()
        assert store.snapshot().serial == before + 1


def test_upsert_records_settings_and_remote_facts(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("kubit-power", {"name": "Power"}, remote_created=True, remote_name="P")
        store.upsert_cohort("kubit-power", {"name": "Power users"})  # keeps the remote facts
        store.upsert_cohort("plain", {"a": [1, 2]})
    record = store.snapshot().cohorts["kubit-power"]
    assert record.settings == {"name": "Power users"}
    assert (record.remote_created, record.remote_name) == (True, "P")
    assert record.created_at.tzinfo is not None
    assert record.last_apply_at is None
    assert record.member_count == 0
    plain = store.snapshot().cohorts["plain"]
    assert (plain.remote_created, plain.remote_name) == (False, None)
    with locked(store):
        store.upsert_cohort("kubit-power", {}, remote_created=False, remote_name="Q")
    record = store.snapshot().cohorts["kubit-power"]
    assert (record.remote_created, record.remote_name) == (False, "Q")


def test_mark_applied_round_trips_microseconds(store: Store) -> None:
    at = dt.datetime(2025, 6, 30, 23, 59, 59, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with locked(store):
        store.upsert_cohort("a", {})
        store.mark_applied("a", at)
        with pytest.raises(StateError, match="not in the state"):
            store.mark_applied("missing", at)
        with pytest.raises(ValueError, match="timezone"):
            store.mark_applied("a", dt.datetime(2025, 1, 1))
    assert store.snapshot().cohorts["a"].last_apply_at == at


def test_has_cohort(store: Store) -> None:
    assert not store.has_cohort("a")
    with locked(store):
        store.upsert_cohort("a", {})
    assert store.has_cohort("a")


def test_rename_moves_members_and_history(store: Store) -> None:
    t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with locked(store):
        store.upsert_cohort("old", {"v": 1}, remote_created=True, remote_name="Old")
        store.record_batch("old", "add", ids("u", 10))
        store.compact("old")
        store.record_batch("old", "add", ["late"])
        store.record_run(RunRecord("old", "schedule", t, t, "success", added=10))
        store.rename_cohort("old", "new")
        assert not store.has_cohort("old")
        assert recorded_set(store, "new") == {*ids("u", 10), "late"}
        store.record_batch("new", "remove", ["u000000"])
        store.compact("new")
        with pytest.raises(StateError, match="not in the state"):
            store.record_batch("old", "add", ["x"])
    record = store.snapshot().cohorts["new"]
    assert (record.settings, record.remote_name, record.member_count) == ({"v": 1}, "Old", 10)
    assert [run.cohort_id for run in store.runs()] == ["new"]
    assert recorded_set(store, "new") == {*ids("u", 9, 1), "late"}


def test_rename_refuses_missing_source_and_taken_target(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("a", {})
        store.upsert_cohort("b", {})
        with pytest.raises(StateError, match="b is already in the state"):
            store.rename_cohort("a", "b")
        with pytest.raises(StateError, match="zzz is not in the state"):
            store.rename_cohort("zzz", "c")
    assert set(store.snapshot().cohorts) == {"a", "b"}


def test_forget_drops_members_and_snapshot(backend: Backend) -> None:
    store = backend.open()
    with locked(store):
        store.upsert_cohort("a", {})
        store.record_batch("a", "add", ids("u", 5))
        store.compact("a")
        store.record_batch("a", "add", ["extra"])
        snapshot_file = store.recorded_members("a").snapshot
        store.forget_cohort("a")
        with pytest.raises(StateError, match="not in the state"):
            store.forget_cohort("a")
        store.upsert_cohort("a", {"again": True})  # a fresh cohort under the same id
    assert snapshot_file is not None
    old = time.time() - RETIRED_GRACE_SECONDS - 60
    if snapshot_file.exists():  # retired beside the db (sqlite) or in the read cache (postgres)
        os.utime(snapshot_file, (old, old))
    with locked(store):
        pass
    assert not snapshot_file.exists()
    assert recorded_set(store, "a") == set()
    assert store.snapshot().cohorts["a"].member_count == 0
    if backend.name == "postgres":
        assert backend.sql("SELECT count(*) FROM cohortops_snapshot_chunks") == [(0,)]


def test_writes_need_the_lock(store: Store) -> None:
    t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    calls = [
        lambda: store.upsert_cohort("a", {}),
        lambda: store.rename_cohort("a", "b"),
        lambda: store.forget_cohort("a"),
        lambda: store.record_batch("a", "add", ["x"]),
        lambda: store.mark_applied("a", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        lambda: store.compact("a"),
        lambda: store.journal_begin("ap", "d", {}),
        lambda: store.journal_end("ap", "ok"),
        lambda: store.append_audit("k", WHO, None, {}),
        lambda: store.record_run(RunRecord("a", "ci", t, t, "success")),
    ]
    for call in calls:
        with pytest.raises(StateError, match="needs the state lock"):
            call()
    assert store.snapshot().serial == 0


def test_unknown_cohorts_have_no_recorded_members(store: Store) -> None:
    recorded = store.recorded_members("nobody")
    assert (recorded.snapshot, recorded.count) == (None, 0)
    assert list(store.members_iter("nobody")) == []
