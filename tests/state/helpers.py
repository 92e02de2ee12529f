"""Small helpers shared by the state tests."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pyarrow.parquet as pq

from cohortops.state import LockInfo, RecordedMembers, Store

WHO = "tester@ci"


def ids(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(start, start + n)]


def locked(store: Store, operation: str = "test") -> AbstractContextManager[LockInfo]:
    return store.lock(operation, WHO)


def as_set(recorded: RecordedMembers) -> set[str]:
    """Materialise ``snapshot ∪ added − removed`` the slow, obvious way."""
    members: set[str] = set()
    if recorded.snapshot is not None:
        members.update(pq.read_table(recorded.snapshot).column("id").to_pylist())
    added = _py(recorded.delta_added)
    removed = _py(recorded.delta_removed)
    assert not set(added) & set(removed), "delta_added and delta_removed must be disjoint"
    return (members | set(added)) - set(removed)


def _py(values: Any) -> list[str]:
    return list(values.to_pylist()) if hasattr(values, "to_pylist") else list(values)


def recorded_set(store: Store, cohort_id: str) -> set[str]:
    recorded = store.recorded_members(cohort_id)
    members = as_set(recorded)
    assert recorded.count == len(members), "count must match the recorded set"
    return members
