"""The member index: built by ``index_audit``, never changes what ``member_timeline`` answers."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohortops.config.model import StateConfig
from cohortops.state import Store, member_index, open_store
from cohortops.state.auditlog import timeline
from cohortops.state.schema import SCHEMA_VERSION
from cohortops.state.sqlstore import SqlStore

from .conftest import Backend
from .helpers import WHO, locked

MEMBERS = ["u1", "u2", "u3", "u_1", "u%1", 'u"1', "ü1", "nobody"]


@pytest.fixture(autouse=True)
def _index_every_refresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small logs: index at every ``index_audit``, in blocks of 3 pairs (so members cross blocks)."""
    monkeypatch.setattr(member_index, "MIN_TAIL", 1)
    monkeypatch.setattr(member_index, "BLOCK_ROWS", 3)
    yield


def _oracle(store: Store, member: str) -> list[int]:
    """The seqs of entries whose ``data["members"]`` list holds ``member``, read one by one."""
    return [
        entry.seq
        for entry in store.audit_entries()
        if isinstance(entry.data.get("members"), list) and member in entry.data["members"]
    ]


def _sql(store: Store) -> SqlStore:
    assert isinstance(store, SqlStore)
    return store


def _lookup(store: Store, member: str) -> member_index.Lookup:
    with _sql(store)._db.read() as tx:
        return member_index.lookup(tx, member)


def _assert_same(store: Store) -> None:
    for member in MEMBERS:
        indexed = store.member_timeline(member)
        scanned = timeline(_sql(store)._db, member, indexed=False)
        assert indexed == scanned, member
        assert [event.seq for event in indexed] == _oracle(store, member), member


def _compact(store: Store, cohort_id: str) -> None:
    """What an apply does: compact the cohort, then index the log."""
    store.compact(cohort_id)
    store.index_audit()


def _history(store: Store) -> None:
    """Adds, a remove and re-add, a forgotten cohort, an import, entries after the last indexing."""
    with locked(store):
        store.upsert_cohort("a", {})
        store.upsert_cohort("b", {})
        for n in range(4):
            store.record_batch("a", "add", [f"x{n}", "u1", "u_1"], {"apply_id": f"ap-{n}"})
        store.record_batch("b", "add", ["u2", "u%1", "ü1"], {"apply_id": "ap-b"})
        _compact(store, "a")
        store.record_batch("a", "remove", ["u1"], {"apply_id": "ap-5"})
        store.append_audit("apply.start", WHO, None, {"apply_id": "ap-6"})
        store.record_batch("a", "add", ["u1", 'u"1'], {"apply_id": "ap-6"})
        _compact(store, "a")
        store.forget_cohort("b")
        store.replace_members("a", ["u3", "u1"], "state.import", {"imported": 2})
        store.record_batch("a", "add", ["u2"], {"apply_id": "ap-7"})
        _compact(store, "a")
        store.record_batch("a", "remove", ["u2", "u1"], {"apply_id": "ap-8"})  # not indexed
        store.flush()


def test_indexed_timeline_equals_the_full_scan(store: Store) -> None:
    _history(store)
    head, _hash = store.audit_head()
    found = _lookup(store, "u1")
    assert 0 < found.covered < head  # the last batch is after the last indexing
    assert set(found.seqs) <= set(_oracle(store, "u1"))
    assert len(found.seqs) >= 5  # most of u1's entries come from the index
    _assert_same(store)
    ops = [(e.cohort_id, e.op) for e in store.member_timeline("u1")]
    assert ops == [("a", "add")] * 4 + [("a", "remove"), ("a", "add"), ("a", "remove")]
    assert [e.cohort_id for e in store.member_timeline("u2")] == ["b", "a", "a"]


def test_segments_merge_and_cover_the_log(backend: Backend) -> None:
    store = backend.open()
    with locked(store):
        store.upsert_cohort("a", {})
        for n in range(12):
            store.record_batch("a", "add", [f"m{n}", "u1"], {"apply_id": f"ap-{n}"})
            _compact(store, "a")
    segments = backend.sql("SELECT lo, hi FROM cohortops_index_segments ORDER BY lo")
    assert len(segments) <= 4  # merged, not one per indexing
    assert segments[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(segments))
    assert segments[-1][1] == store.audit_head()[0] == _lookup(store, "u1").covered
    assert len(_lookup(store, "u1").seqs) == 12
    _assert_same(store)


def test_a_damaged_or_missing_index_is_scanned_around_then_rebuilt(backend: Backend) -> None:
    store = backend.open()
    _history(store)
    backend.sql("UPDATE cohortops_index_blocks SET digest = 'bad'")
    assert _lookup(store, "u1").covered == 0  # the first segment's block is damaged
    _assert_same(store)
    with locked(store):
        _compact(store, "a")  # rebuilds what it cannot trust
    assert _lookup(store, "u1").covered == store.audit_head()[0]
    _assert_same(store)

    backend.sql("DELETE FROM cohortops_index_blocks")
    assert _lookup(store, "u1") == member_index.Lookup((), 0)  # block counts no longer match
    _assert_same(store)
    backend.sql("DELETE FROM cohortops_index_segments")
    with locked(store):
        _compact(store, "a")
    assert _lookup(store, "u1").covered == store.audit_head()[0]
    _assert_same(store)


def test_an_index_that_names_another_log_is_ignored(backend: Backend) -> None:
    store = backend.open()
    _history(store)
    backend.sql("UPDATE cohortops_index_segments SET hi_hash = 'other'")
    assert _lookup(store, "u1").covered == 0
    _assert_same(store)


def test_small_tails_are_left_to_the_scan(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(member_index, "MIN_TAIL", 50)
    _history(store)
    assert _lookup(store, "u1").covered == 0
    _assert_same(store)


def test_a_version_2_state_gains_the_index_tables(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(StateConfig(path=path), cwd=tmp_path).close()
    with sqlite3.connect(path) as conn:  # as cohortops wrote it before the index existed
        conn.execute("DROP TABLE cohortops_index_blocks")
        conn.execute("DROP TABLE cohortops_index_segments")
        conn.execute("UPDATE cohortops_meta SET schema_version = 2")
    conn.close()
    store = open_store(StateConfig(path=path), cwd=tmp_path)
    try:
        # The tables are created before the version is read, so they alone prove nothing: the
        # migration must also have recorded the version it brought the state to.
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT schema_version FROM cohortops_meta").fetchall() == [
                (SCHEMA_VERSION,)
            ]
        conn.close()
        _history(store)
        assert _lookup(store, "u1").covered > 0
        _assert_same(store)
    finally:
        store.close()


def test_backup_and_restore_carry_the_index(tmp_path: Path) -> None:
    import datetime as dt

    from cohortops.state import backup

    path = tmp_path / "state.db"
    store = open_store(StateConfig(path=path), cwd=tmp_path)
    try:
        _history(store)
        with locked(store):
            saved = backup.backup(path, tmp_path / "saved")
    finally:
        store.close()
    path.unlink()
    backup.restore(path, saved, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    restored = open_store(StateConfig(path=path), cwd=tmp_path)
    try:
        assert _lookup(restored, "u1").covered > 0
        _assert_same(restored)
    finally:
        restored.close()


def test_ids_in_any_script_or_escape_are_found_in_their_block(store: Store) -> None:
    """Blocks are cut and looked up in UTF-8 byte order, as DuckDB sorts; JSON escapes decode."""
    exotic = ["Z1", "a1", "é", "日本", "😀", "u\\1", "u\n1", 'u\t"1', "", " ", "a", "a\x00b"]
    with locked(store):
        store.upsert_cohort("a", {})
        for n, member in enumerate(exotic):
            store.record_batch("a", "add", [member, *exotic[:n]], {"apply_id": f"ap-{n}"})
        _compact(store, "a")
    assert _lookup(store, "a1").covered == store.audit_head()[0]
    for member in exotic:
        assert [e.seq for e in store.member_timeline(member)] == _oracle(store, member), member
        assert set(_lookup(store, member).seqs) == set(_oracle(store, member)), member


def test_compaction_leaves_the_index_to_index_audit(backend: Backend) -> None:
    store = backend.open()
    with locked(store):
        store.upsert_cohort("a", {})
        store.record_batch("a", "add", ["u1"], {"apply_id": "ap-1"})
        store.compact("a")
        assert backend.sql("SELECT count(*) FROM cohortops_index_segments") == [(0,)]
        store.index_audit()
    assert _lookup(store, "u1").covered == store.audit_head()[0]


def test_a_damaged_later_segment_is_rebuilt_from_there(backend: Backend) -> None:
    store = backend.open()
    with locked(store):
        store.upsert_cohort("a", {})
        for n in range(12):
            store.record_batch("a", "add", [f"m{n}", "u1"], {"apply_id": f"ap-{n}"})
            _compact(store, "a")
    segments = backend.sql("SELECT lo, hi FROM cohortops_index_segments ORDER BY lo")
    assert len(segments) >= 2
    first, second = segments[0], segments[1]
    backend.sql("UPDATE cohortops_index_blocks SET digest = 'bad' WHERE lo = ?", (second[0],))
    assert _lookup(store, "u1").covered == first[1]  # the chain ends before the damage
    with locked(store):
        store.record_batch("a", "add", ["u1"], {"apply_id": "ap-12"})
        _compact(store, "a")
    rebuilt = backend.sql("SELECT lo, hi FROM cohortops_index_segments ORDER BY lo")
    assert rebuilt[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(rebuilt))
    assert _lookup(store, "u1").covered == store.audit_head()[0]
    assert len(_lookup(store, "u1").seqs) == 13
    _assert_same(store)
