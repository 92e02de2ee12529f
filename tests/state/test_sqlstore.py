"""SqlStore's re-read when a concurrent compaction retires the snapshot it was told about."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cohortops.errors import StateError
from cohortops.state import Store
from cohortops.state.sqlstore import SqlStore

from .helpers import locked


def compacted(store: Store) -> None:
    """Cohort c with members a and b, in a snapshot file."""
    with locked(store):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["a", "b"])
        store.flush()
        store.compact("c")


@pytest.mark.parametrize(("moved_on", "reads"), [(False, 1), (True, 3)])
def test_a_retired_snapshot_is_read_again_only_when_the_cohort_moved_on(
    store: Store, monkeypatch: pytest.MonkeyPatch, moved_on: bool, reads: int
) -> None:
    compacted(store)
    calls: list[int] = []

    def retired(*args: Any) -> Path:
        calls.append(1)
        raise StateError("the snapshot file is gone")

    monkeypatch.setattr(store, "_local", retired)
    monkeypatch.setattr(store, "_moved_on", lambda row: moved_on)
    with pytest.raises(StateError, match="gone"):
        store.recorded_members("c")
    assert len(calls) == reads


def test_the_fresh_read_after_a_compaction_succeeds(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    compacted(store)
    assert isinstance(store, SqlStore)
    real = store._local
    calls: list[int] = []

    def once_retired(*args: Any) -> Path | None:
        calls.append(1)
        if len(calls) == 1:
            raise StateError("the snapshot file is gone")
        return real(*args)

    monkeypatch.setattr(store, "_local", once_retired)
    monkeypatch.setattr(store, "_moved_on", lambda row: True)
    assert store.recorded_members("c").count == 2
    assert len(calls) == 2
