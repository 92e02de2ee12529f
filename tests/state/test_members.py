"""Member storage: deltas, latest-op-wins, compaction, snapshots and their integrity."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.errors import StateError
from cohortops.state import Store
from cohortops.state.snapstore import RETIRED_GRACE_SECONDS

from .conftest import Backend
from .helpers import ids, locked, recorded_set


def test_recorded_members_before_any_compaction(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["b", "a", "c", "a"])
        store.record_batch("c", "remove", ["c", "zz"])
        store.flush()
        recorded = store.recorded_members("c")
    assert recorded.snapshot is None
    assert isinstance(recorded.delta_added, pa.Array)
    assert isinstance(recorded.delta_removed, pa.Array)
    assert recorded.delta_added.to_pylist() == ["a", "b"]
    assert recorded.delta_removed.to_pylist() == ["c", "zz"]
    assert recorded.count == 2


def test_latest_op_per_member_wins(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["x", "y"])
        store.record_batch("c", "remove", ["x"])
        store.record_batch("c", "add", ["x"])
        store.record_batch("c", "remove", ["y"])
        store.flush()  # all four in one group commit
        assert recorded_set(store, "c") == {"x"}
        store.record_batch("c", "remove", ["x"])  # and across commits
        store.flush()
        assert recorded_set(store, "c") == set()


def test_compaction_writes_a_sorted_distinct_zstd_snapshot(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["m", "b", "z", "b"])
        store.compact("c")
        recorded = store.recorded_members("c")
    assert recorded.snapshot is not None
    assert recorded.count == 3
    assert len(recorded.delta_added) == len(recorded.delta_removed) == 0
    table = pq.read_table(recorded.snapshot)
    assert table.column_names == ["id"]
    assert table.column("id").to_pylist() == ["b", "m", "z"]
    meta = pq.ParquetFile(recorded.snapshot).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_count_with_deltas_against_a_snapshot(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ids("u", 100))
        store.compact("c")
        store.record_batch("c", "add", ids("u", 10, 95))  # 5 already there, 5 new
        store.record_batch("c", "remove", [*ids("u", 3), "never-there"])
        store.flush()
        assert store.recorded_members("c").count == 100 + 5 - 3
        assert store.snapshot().cohorts["c"].member_count == 102
        store.compact("c")
        recorded = store.recorded_members("c")
    assert recorded.count == 102 and len(recorded.delta_added) == 0
    assert pq.read_table(recorded.snapshot).num_rows == 102


def test_members_iter_is_sorted_and_complete(store: Store) -> None:
    members = ids("u", 2500)
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", list(reversed(members)))
        store.flush()
        assert list(store.members_iter("c")) == members  # deltas only
        store.compact("c")
        assert list(store.members_iter("c")) == members  # snapshot only
        store.record_batch("c", "remove", members[:10])
        store.record_batch("c", "add", ["a-first", "zzz-last"])
        store.flush()
    assert list(store.members_iter("c")) == ["a-first", *members[10:], "zzz-last"]


def age_files(folder: Path, keep: Path | None = None) -> None:
    """Make every file but ``keep`` look retired long ago."""
    old = time.time() - RETIRED_GRACE_SECONDS - 60
    for path in folder.iterdir():
        if path != keep:
            os.utime(path, (old, old))


def test_compacting_to_empty_drops_the_snapshot(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["a"])
        store.compact("c")
        first = store.recorded_members("c").snapshot
        store.record_batch("c", "remove", ["a"])
        store.compact("c")
        recorded = store.recorded_members("c")
    assert (recorded.snapshot, recorded.count) == (None, 0)
    assert first is not None and first.exists()  # retired, not yet deleted
    age_files(first.parent)
    with locked(store):
        pass
    assert not first.exists()


def test_a_reader_keeps_its_snapshot_while_another_process_compacts(
    make_backend: Callable[[str], Backend],
) -> None:
    backend = make_backend("sqlite")
    writer, reader = backend.open(), backend.open()
    with locked(writer):
        writer.upsert_cohort("c", {})
        writer.record_batch("c", "add", ["a", "b"])
        writer.compact("c")
        writer.record_batch("c", "add", ["x"])
        writer.flush()
        members = reader.members_iter("c")
        recorded = reader.recorded_members("c")
        writer.record_batch("c", "add", ["d"])
        writer.flush()
        writer.compact("c")
    assert recorded.snapshot is not None and recorded.snapshot.exists()
    assert list(members) == ["a", "b", "x"]


def test_members_array_is_the_sorted_recorded_set(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        assert store.members_array("c").to_pylist() == []
        store.record_batch("c", "add", ["b", "a"])
        store.flush()
        assert store.members_array("c").to_pylist() == ["a", "b"]  # deltas only
        store.compact("c")
        assert store.members_array("c").to_pylist() == ["a", "b"]  # snapshot only
        store.record_batch("c", "add", ["d"])
        store.record_batch("c", "remove", ["a"])
        store.flush()
        assert store.members_array("c").to_pylist() == ["b", "d"]  # snapshot and deltas
        assert list(store.members_iter("c")) == ["b", "d"]


def test_compact_without_deltas_is_a_no_op(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        serial = store.snapshot().serial
        store.compact("c")
        assert store.snapshot().serial == serial
        with pytest.raises(StateError, match="not in the state"):
            store.compact("missing")


def test_record_batch_rejects_bad_input(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        with pytest.raises(StateError, match="upsert_cohort first"):
            store.record_batch("other", "add", ["x"])
        with pytest.raises(ValueError, match="unknown member op"):
            store.record_batch("c", "replace", ["x"])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="not one string"):
            store.record_batch("c", "add", "abc")
        store.record_batch("c", "add", [])
        store.flush()
    assert store.recorded_members("c").count == 0


def test_unicode_and_odd_ids_round_trip(store: Store) -> None:
    odd = ["é-user", "user with space", "line\nbreak", "quote'\"", "🙂", "x" * 255]
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", odd)
        store.flush()
        assert recorded_set(store, "c") == set(odd)
        store.compact("c")
    assert recorded_set(store, "c") == set(odd)
    assert list(store.members_iter("c")) == sorted(odd)


def test_sqlite_snapshots_live_beside_the_db_and_old_ones_go(
    make_backend: Callable[[str], Backend],
) -> None:
    backend = make_backend("sqlite")
    store = backend.open()
    folder = backend.cwd / "state.snapshots"
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["a"])
        store.compact("c")
        store.record_batch("c", "add", ["b"])
        store.compact("c")
    current = store.recorded_members("c").snapshot
    assert current is not None and current.parent == folder and current.name.startswith("c-2-")
    # The replaced snapshot outlives the compaction: a plan may still be reading it.
    assert len(list(folder.iterdir())) == 2
    # A crash between writing a snapshot and committing leaves an orphan; once retired files
    # and orphans are past the grace period, the next lock cleans them.
    (folder / "c-9-deadbeef.parquet").write_bytes(b"orphan")
    (folder / ".c-9.123.tmp").write_bytes(b"half written")
    age_files(folder, keep=current)
    with locked(store):
        pass
    assert sorted(folder.iterdir()) == [current]


def test_a_damaged_snapshot_is_reported_not_used(backend: Backend) -> None:
    store = backend.open()
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ids("u", 50))
        store.compact("c")
    path = store.recorded_members("c").snapshot
    assert path is not None
    fresh = backend.open()  # no hash already checked in this store
    if backend.name == "sqlite":
        path.write_bytes(path.read_bytes()[:-1] + b"X")
        with pytest.raises(StateError, match=r"does not match the hash.*forget"):
            fresh.recorded_members("c")
        path.unlink()
        with pytest.raises(StateError, match="is missing"):
            fresh.recorded_members("c")
    else:
        path.unlink()  # the cache is rebuilt from the database
        assert fresh.recorded_members("c").snapshot == path and path.exists()
        path.unlink()
        backend.sql("UPDATE cohortops_snapshot_chunks SET data = ?", (b"tampered",))
        with pytest.raises(StateError, match="does not match the hash"):
            fresh.recorded_members("c")
        assert not path.exists()


@pytest.mark.postgres
def test_postgres_snapshot_is_chunked_in_the_database(
    make_backend: Callable[[str], Backend],
) -> None:
    backend = make_backend("postgres")
    store = backend.open()
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ids("u", 10))
        store.compact("c")
        store.record_batch("c", "add", ids("v", 10))
        store.compact("c")
    rows = backend.sql("SELECT cohort_id, generation, chunk_no FROM cohortops_snapshot_chunks")
    assert rows == [("c", 2, 0)]
    other = backend.open()
    assert recorded_set(other, "c") == {*ids("u", 10), *ids("v", 10)}


def test_big_compactions_stay_sorted(make_backend: Callable[[str], Backend]) -> None:
    # Enough rows for DuckDB to scan and write in parallel (several 122,880-row groups).
    members = ids("u", 300_000)
    shuffled = members[1::2] + members[::2]
    store = make_backend("sqlite").open()
    with locked(store):
        store.upsert_cohort("c", {})
        for start in range(0, len(shuffled), 5000):
            store.record_batch("c", "add", shuffled[start : start + 5000])
        store.compact("c")  # first snapshot: from the deltas alone
        first = pq.read_table(store.recorded_members("c").snapshot).column("id").to_pylist()
        assert first == members
        store.record_batch("c", "remove", members[::3])
        store.record_batch("c", "add", ["a", "zz"])
        store.compact("c")  # snapshot merged with deltas
        second = pq.read_table(store.recorded_members("c").snapshot).column("id").to_pylist()
    expected = sorted(set(members) - set(members[::3]) | {"a", "zz"})
    assert second == expected
