"""Run history and the apply journal."""

from __future__ import annotations

import datetime as dt

import pytest

from cohortops.errors import StateError
from cohortops.state import RunRecord, RunTrigger, Store

from .helpers import WHO, locked

T0 = dt.datetime(2025, 5, 1, 6, 0, tzinfo=dt.UTC)


def _run(
    cohort: str,
    minute: int,
    *,
    trigger: RunTrigger = "schedule",
    result: str = "success",
    added: int = 0,
    removed: int = 0,
    failed: int = 0,
    total_members: int = 0,
    apply_id: str | None = None,
) -> RunRecord:
    start = T0 + dt.timedelta(minutes=minute)
    return RunRecord(
        cohort_id=cohort,
        trigger=trigger,
        started_at=start,
        ended_at=start + dt.timedelta(seconds=42),
        result=result,
        added=added,
        removed=removed,
        failed=failed,
        total_members=total_members,
        apply_id=apply_id,
    )


def test_runs_newest_first_with_filters(store: Store) -> None:
    with locked(store):
        first = store.record_run(_run("a", 0, added=5, removed=1, total_members=4, apply_id="ap1"))
        store.record_run(_run("b", 1, trigger="manual", result="failed", failed=3))
        third = store.record_run(_run("a", 2, trigger="ci", result="no-changes"))
    assert first.run_id is not None and third.run_id is not None
    assert third.run_id > first.run_id
    assert [(r.cohort_id, r.trigger) for r in store.runs()] == [
        ("a", "ci"),
        ("b", "manual"),
        ("a", "schedule"),
    ]
    assert store.runs("a") == [third, first]
    assert store.runs(limit=1) == [third]
    assert store.last_run("a") == third
    assert store.last_run("nobody") is None
    stored = store.runs("a")[-1]
    assert (stored.added, stored.removed, stored.failed, stored.total_members) == (5, 1, 0, 4)
    assert stored.apply_id == "ap1" and stored.ended_at - stored.started_at == dt.timedelta(
        seconds=42
    )


def test_run_trigger_is_checked(store: Store) -> None:
    with locked(store), pytest.raises(ValueError, match="trigger"):
        store.record_run(_run("a", 0, trigger="cron"))  # type: ignore[arg-type]  # deliberately invalid


def test_journal_lists_applies_that_never_ended(store: Store) -> None:
    with locked(store, "apply"):
        store.journal_begin("ap-1", "sha256:aa", {"adds": 3, "cohorts": ["a"]})
        store.journal_begin("ap-2", "sha256:bb", {})
        store.journal_end("ap-1", "success")
    unfinished = store.unfinished_applies()
    assert [j.apply_id for j in unfinished] == ["ap-2"]
    assert unfinished[0].who == WHO and unfinished[0].ended_at is None
    assert unfinished[0].plan_digest == "sha256:bb"
    with locked(store, "apply"):
        store.journal_end("ap-2", "failed")
    assert store.unfinished_applies() == []


def test_journal_rejects_misuse(store: Store) -> None:
    with locked(store, "apply"):
        store.journal_begin("ap-1", "d", {"k": "v"})
        with pytest.raises(StateError, match="already in the journal"):
            store.journal_begin("ap-1", "d", {})
        with pytest.raises(StateError, match="not in the journal"):
            store.journal_end("ap-9", "success")
        store.journal_end("ap-1", "success")
        with pytest.raises(StateError, match="already ended"):
            store.journal_end("ap-1", "success")
