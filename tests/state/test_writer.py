"""The group-commit writer on its own, with a fake commit function (no database)."""

from __future__ import annotations

import threading
import time

import pytest

from cohortops.errors import StateError
from cohortops.membership import MemberOp
from cohortops.state.logs import StoreOptions
from cohortops.state.writer import GroupWriter, PendingBatch

WAIT = 10.0  # upper bound for a thread hand-off; never reached when things work


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[list[PendingBatch]] = []
        self.fail_on = fail_on
        self.committed = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, group: list[PendingBatch]) -> None:
        self.gate.wait(WAIT)
        if self.fail_on is not None and len(self.groups) == self.fail_on:
            self.groups.append(group)
            raise RuntimeError("disk full")
        self.groups.append(group)
        self.committed.set()


def batch(n: int, op: MemberOp = "add") -> PendingBatch:
    return PendingBatch("c", op, tuple(f"u{i}" for i in range(n)), None)


def test_flush_commits_everything_in_one_group() -> None:
    recorder = Recorder()
    writer = GroupWriter(recorder, StoreOptions(group_ids=10**6, group_seconds=3600))
    for _ in range(5):
        writer.submit(batch(75))
    assert recorder.groups == []  # neither threshold reached: nothing committed yet
    writer.flush()
    assert [len(group) for group in recorder.groups] == [5]
    writer.flush()  # nothing pending: no empty commit
    assert len(recorder.groups) == 1
    writer.close()


def test_size_threshold_commits_without_flush() -> None:
    recorder = Recorder()
    writer = GroupWriter(recorder, StoreOptions(group_ids=150, group_seconds=3600))
    writer.submit(batch(75))
    writer.submit(batch(75))
    assert recorder.committed.wait(WAIT)
    assert sum(len(b.ids) for b in recorder.groups[0]) == 150
    writer.close()


def test_age_threshold_commits_without_flush() -> None:
    recorder = Recorder()
    writer = GroupWriter(recorder, StoreOptions(group_ids=10**6, group_seconds=0.0))
    writer.submit(batch(1))
    assert recorder.committed.wait(WAIT)
    writer.close()


def test_a_failed_commit_is_sticky_and_drops_the_rest() -> None:
    recorder = Recorder(fail_on=0)
    writer = GroupWriter(recorder, StoreOptions(group_ids=10**6, group_seconds=3600))
    writer.submit(batch(3))
    with pytest.raises(StateError, match=r"disk full.*re-sent"):
        writer.flush()
    assert writer.failed
    with pytest.raises(StateError, match="disk full"):
        writer.submit(batch(1))
    with pytest.raises(StateError, match="disk full"):
        writer.close()


def test_backpressure_blocks_until_the_writer_catches_up() -> None:
    recorder = Recorder()
    recorder.gate.clear()  # hold the first commit
    writer = GroupWriter(recorder, StoreOptions(group_ids=10, group_seconds=3600, pending_limit=20))
    writer.submit(batch(10))  # taken by the writer, stuck in the gate
    writer.submit(batch(10))
    done = threading.Event()

    def third() -> None:
        writer.submit(batch(10))
        done.set()

    thread = threading.Thread(target=third)
    thread.start()
    deadline = time.monotonic() + WAIT
    # Condition._waiters is CPython's private list of waiting threads (not in typeshed).
    while not writer._cond._waiters and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.001)  # until the third submit waits on the writer's condition
    assert writer._cond._waiters, "submit must block while 20 ids are pending"  # type: ignore[attr-defined]
    assert not done.is_set()
    recorder.gate.set()
    assert done.wait(WAIT)
    thread.join(WAIT)
    writer.flush()
    assert sum(len(b.ids) for group in recorder.groups for b in group) == 30
    writer.close()


def test_close_commits_what_is_pending_and_refuses_more() -> None:
    recorder = Recorder()
    writer = GroupWriter(recorder, StoreOptions(group_ids=10**6, group_seconds=3600))
    writer.submit(batch(2))
    writer.close()
    assert len(recorder.groups) == 1
    with pytest.raises(StateError, match="closed"):
        writer.submit(batch(1))
