"""The audit log: hash chain, batch entries in the member commit, tamper detection, timeline."""

from __future__ import annotations

import dataclasses
import hashlib

import orjson
import pytest

from cohortops.state import Store
from cohortops.state.auditlog import entry_hash
from cohortops.state.logs import GENESIS_HASH

from .conftest import Backend
from .helpers import WHO, locked


def _fill(store: Store, n: int = 5) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        for number in range(1, n + 1):
            store.append_audit(
                "apply", f"actor{number}", "c" if number % 2 else None, {"n": number}
            )


def test_entries_chain_by_hash_of_canonical_json(store: Store) -> None:
    with locked(store):
        first = store.append_audit("apply", WHO, None, {"b": [1, 2], "a": "é"})
        second = store.append_audit("forget", WHO, "c", {})
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    canonical = orjson.dumps(
        {
            "seq": 1,
            "at": first.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "kind": "apply",
            "actor": WHO,
            "cohort_id": None,
            "data": {"b": [1, 2], "a": "é"},
        },
        option=orjson.OPT_SORT_KEYS,
    )
    assert first.hash == hashlib.sha256(GENESIS_HASH.encode() + canonical).hexdigest()
    stored = list(store.audit_entries())
    assert stored == [first, second]
    assert all(entry_hash(entry) == entry.hash for entry in stored)
    assert store.verify_audit() is None


def test_audit_entries_filters(store: Store) -> None:
    _fill(store, 6)
    entries = list(store.audit_entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in store.audit_entries(cohort_id="c")] == [1, 3, 5]
    assert [e.seq for e in store.audit_entries(since=4)] == [4, 5, 6]
    assert [e.seq for e in store.audit_entries(since=entries[2].at)] == [3, 4, 5, 6]
    assert [e.seq for e in store.audit_entries(cohort_id="c", since=2)] == [3, 5]


def test_batch_audit_shares_the_member_commit(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["u1", "u2"], {"apply_id": "ap-1", "request": 1})
        store.record_batch("c", "add", ["u3"])  # no audit entry asked for
        store.record_batch("c", "remove", ["u1"], {"apply_id": "ap-1", "request": 2})
        serial = store.snapshot().serial
        assert list(store.audit_entries()) == []  # nothing committed yet, neither side
        store.flush()
        assert store.snapshot().serial == serial + 1
    batches = list(store.audit_entries())
    assert [(e.kind, e.actor, e.cohort_id) for e in batches] == [("batch", WHO, "c")] * 2
    assert batches[0].data == {
        "apply_id": "ap-1",
        "request": 1,
        "op": "add",
        "members": ["u1", "u2"],
    }
    assert batches[1].data["op"] == "remove" and batches[1].data["members"] == ["u1"]


def test_member_timeline(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("a", {})
        store.upsert_cohort("b", {})
        store.record_batch("a", "add", ["u1", "u2"], {"apply_id": "ap-1"})
        store.record_batch("b", "add", ["u2"], {"apply_id": "ap-1"})
        store.flush()
        store.append_audit("apply", WHO, None, {"apply_id": "ap-1"})  # names no members
        store.record_batch("a", "remove", ["u2"], {"apply_id": "ap-2"})
        store.flush()
    timeline = store.member_timeline("u2")
    assert [(e.cohort_id, e.op, e.details["apply_id"]) for e in timeline] == [
        ("a", "add", "ap-1"),
        ("b", "add", "ap-1"),
        ("a", "remove", "ap-2"),
    ]
    assert all("members" not in e.details for e in timeline)
    assert [e.seq for e in timeline] == sorted(e.seq for e in timeline)
    assert store.member_timeline("u1")[0].actor == WHO
    assert store.member_timeline("nobody") == []


def test_member_timeline_matches_ids_exactly(store: Store) -> None:
    tricky = ["u_1", "u%1", 'u"1', "u\\1", "U_1", "u_10", "ü_1"]
    with locked(store):
        store.upsert_cohort("a", {})
        for i, member in enumerate(tricky):
            store.record_batch("a", "add", [member], {"apply_id": f"ap-{i}"})
        store.flush()
    for i, member in enumerate(tricky):
        timeline = store.member_timeline(member)
        assert [e.details["apply_id"] for e in timeline] == [f"ap-{i}"], member
    assert store.member_timeline("u_") == []


def test_verify_names_an_edited_entry(backend: Backend) -> None:
    store = backend.open()
    _fill(store)
    backend.sql("UPDATE cohortops_audit SET data = ? WHERE seq = 3", ('{"n":33}',))
    problem = store.verify_audit()
    assert problem is not None and problem.seq == 3 and "edited" in problem.message
    assert str(problem).startswith("audit entry 3:")


def test_verify_names_an_entry_edited_with_a_recomputed_hash(backend: Backend) -> None:
    store = backend.open()
    _fill(store)
    backend.sql("UPDATE cohortops_audit SET actor = 'mallory', hash = ? WHERE seq = 2", ("f" * 64,))
    problem = store.verify_audit()
    assert problem is not None and problem.seq == 2


def test_verify_names_a_forged_newest_entry(backend: Backend) -> None:
    store = backend.open()
    _fill(store)
    last = list(store.audit_entries())[-1]
    forged = dataclasses.replace(last, actor="mallory")
    backend.sql(
        "UPDATE cohortops_audit SET actor = 'mallory', hash = ? WHERE seq = ?",
        (entry_hash(forged), last.seq),
    )
    problem = store.verify_audit()
    assert problem is not None and problem.seq == last.seq and "newest" in problem.message


def test_verify_names_a_deleted_entry(backend: Backend) -> None:
    store = backend.open()
    _fill(store)
    backend.sql("DELETE FROM cohortops_audit WHERE seq = 2")
    problem = store.verify_audit()
    assert problem is not None and problem.seq == 2 and "missing" in problem.message


def test_verify_names_deleted_newest_entries(backend: Backend) -> None:
    store = backend.open()
    _fill(store)
    backend.sql("DELETE FROM cohortops_audit WHERE seq >= 4")
    problem = store.verify_audit()
    assert problem is not None and problem.seq == 4


def test_verify_names_reordered_entries(backend: Backend) -> None:
    store = backend.open()
    _fill(store)
    # Swap the contents of entries 2 and 4, each keeping its seq.
    backend.sql("UPDATE cohortops_audit SET seq = -2 WHERE seq = 2")
    backend.sql("UPDATE cohortops_audit SET seq = 2 WHERE seq = 4")
    backend.sql("UPDATE cohortops_audit SET seq = 4 WHERE seq = -2")
    problem = store.verify_audit()
    assert problem is not None and problem.seq == 2


def test_verify_names_an_entry_added_behind_the_stores_back(backend: Backend) -> None:
    store = backend.open()
    _fill(store, 2)
    last = list(store.audit_entries())[-1]
    backend.sql(
        "INSERT INTO cohortops_audit (seq, at, kind, actor, cohort_id, data, prev_hash, hash) "
        "VALUES (3, '2025-01-01T00:00:00.000000Z', 'apply', 'x', NULL, '{}', ?, ?)",
        (last.hash, "0" * 64),
    )
    problem = store.verify_audit()
    assert problem is not None and problem.seq == 3


def test_verify_an_empty_log(store: Store) -> None:
    assert store.verify_audit() is None


@pytest.mark.parametrize("n", [2400])
def test_verify_pages_through_long_logs(store: Store, n: int) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        for start in range(0, n, 2):
            store.record_batch("c", "add", [f"u{start}", f"u{start + 1}"], {"i": start})
        store.flush()
    assert store.verify_audit() is None
    assert sum(1 for _ in store.audit_entries()) == n // 2


def test_recent_audit_newest_first_by_cohort_kind_and_scope(store: Store) -> None:
    _fill(store, 6)  # entries 1..6: odd ones about cohort "c", even ones about no cohort
    with locked(store):
        store.append_audit("run.failed", WHO, "c", {"run_id": 7, "error": "boom"})
    assert [e.seq for e in store.recent_audit(None, 3)] == [7, 6, 5]
    assert [e.seq for e in store.recent_audit("c", 10)] == [7, 5, 3, 1]
    assert [e.seq for e in store.recent_audit("c", 10, ("run.failed",))] == [7]
    assert [e.seq for e in store.recent_audit(None, 10, ("apply",), unscoped=True)] == [6, 4, 2]
    assert store.recent_audit("c", 0) == []
    generic = Store.recent_audit(store, "c", 2, ("apply",))  # the interface's default agrees
    assert [e.seq for e in generic] == [5, 3]


def test_pending_changes_count_acknowledged_members_until_compaction(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("a", {})
        store.record_batch("a", "add", ["u1", "u2", "u3"])
        store.record_batch("a", "remove", ["u9"])
        store.flush()
        assert store.pending_changes() == {("a", "add"): 3, ("a", "remove"): 1}
        store.compact("a")
    assert store.pending_changes() == {}
