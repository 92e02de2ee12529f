"""replace_members: the recorded set becomes exactly the given ids, in one audited write."""

from __future__ import annotations

import pyarrow as pa
import pytest

from cohortops.errors import StateError
from cohortops.state import Store

from .helpers import locked


def test_replace_members_overwrites_snapshot_and_deltas(store: Store) -> None:
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["old1", "old2"])
        store.compact("c")
        store.record_batch("c", "add", ["old3"])
        store.record_batch("c", "remove", ["old1"])
        store.flush()
        serial = store.snapshot().serial
        count = store.replace_members(
            "c", pa.array(["n2", "n1", None, "n2"]), "state.import", {"imported": 2}
        )
        assert count == 2
        assert list(store.members_iter("c")) == ["n1", "n2"]
        recorded = store.recorded_members("c")
        assert recorded.count == 2
        assert len(recorded.delta_added) == 0
        assert len(recorded.delta_removed) == 0
        assert store.snapshot().serial == serial + 1
        # and deltas recorded afterwards still apply on top
        store.record_batch("c", "remove", ["n1"])
        store.flush()
        assert list(store.members_iter("c")) == ["n2"]
        store.replace_members("c", [], "state.import", {"imported": 0})
        assert list(store.members_iter("c")) == []
    entries = [e for e in store.audit_entries("c") if e.kind == "state.import"]
    assert [e.data for e in entries] == [{"imported": 2}, {"imported": 0}]
    assert store.verify_audit() is None


def test_replace_members_needs_lock_and_cohort(store: Store) -> None:
    with pytest.raises(StateError):
        store.replace_members("c", [], "state.import", {})
    with locked(store), pytest.raises(StateError, match="not in the state"):
        store.replace_members("c", [], "state.import", {})
