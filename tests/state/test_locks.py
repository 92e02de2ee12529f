"""Locks: fail fast with the holder's details, survive SIGKILL'd holders, unlock by id only."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cohortops.errors import LockBusyError, StateError
from cohortops.state import Store

from .conftest import Backend
from .helpers import WHO, locked, recorded_set

CHILD = Path(__file__).with_name("child.py")
REPO = Path(__file__).resolve().parents[2]


@contextmanager
def child(backend: Backend, mode: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(backend.child_spec()), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=30)
        line = proc.stdout.readline().strip() if ready else ""
        if not line:
            proc.kill()
            _out, err = proc.communicate(timeout=10)
            pytest.fail(f"child did not start: {err[-2000:]}")
        yield proc, line
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_busy_lock_fails_fast_naming_the_holder(backend: Backend) -> None:
    holder, other = backend.open(), backend.open()
    with holder.lock("apply", "alice@laptop") as info:
        start = time.monotonic()
        with pytest.raises(LockBusyError) as caught, other.lock("plan", "bob@ci"):
            pass
        assert time.monotonic() - start < 2.0
        message = str(caught.value)
        assert info.describe() in message
        assert f"pid {os.getpid()}" in message
        assert f"cohortops state unlock {info.id}" in message
        assert "\n" not in message
        assert other.current_lock() == info
    assert other.current_lock() is None
    with other.lock("plan", "bob@ci"):
        pass


def test_lock_is_released_when_the_block_raises(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    with pytest.raises(RuntimeError), first.lock("apply", WHO):
        raise RuntimeError("boom")
    with second.lock("apply", WHO):
        pass


def test_one_store_holds_one_lock(store: Store) -> None:
    with locked(store), pytest.raises(StateError, match="already holds"), locked(store):
        pass


def test_close_releases_the_lock(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    first.lock("apply", WHO).__enter__()
    first.close()
    with second.lock("apply", WHO):
        pass


def test_unlock_removes_only_the_named_lock(backend: Backend) -> None:
    holder, admin = backend.open(), backend.open()
    with pytest.raises(StateError, match="has no lock"):
        admin.unlock("abc")
    with holder.lock("apply", "alice@laptop") as info:
        with pytest.raises(StateError) as caught:
            admin.unlock("not-it")
        assert f"the current one is {info.describe()}" in str(caught.value)
        assert holder.current_lock() == info


def test_unlock_fences_a_holder_that_is_still_running(backend: Backend) -> None:
    stuck, admin = backend.open(), backend.open()
    cm = stuck.lock("apply", "stuck@runner")
    info = cm.__enter__()
    stuck.upsert_cohort("c", {})
    stuck.record_batch("c", "add", ["queued"], {"apply_id": "ap-stuck"})
    assert admin.unlock(info.id) == info
    with admin.lock("apply", "admin@laptop") as mine:
        with pytest.raises(StateError, match=f"Lock {info.id} no longer holds the state"):
            stuck.upsert_cohort("d", {})
        with pytest.raises(StateError, match="no longer holds"):
            cm.__exit__(None, None, None)  # its queued batch cannot commit any more
        assert admin.current_lock() == mine  # the stuck holder's exit left our lock alone
        admin.upsert_cohort("e", {})
    assert recorded_set(admin, "c") == set()
    assert [e.kind for e in admin.audit_entries()] == []  # the batch and its entry: neither
    assert set(admin.snapshot().cohorts) == {"c", "e"}


def test_a_stale_details_row_counts_as_free(backend: Backend) -> None:
    store = backend.open()
    backend.sql(
        "INSERT INTO cohortops_lock (id, lock_id, who, operation, created_at, pid, host) "
        "VALUES (1, 'ghost', 'gone@host', 'apply', '2025-01-01T00:00:00.000000Z', 1, 'h')"
    )
    assert store.current_lock() is None
    with store.lock("apply", WHO) as info:
        assert store.current_lock() == info


def test_a_killed_holder_never_leaves_the_state_locked(backend: Backend) -> None:
    store = backend.open()
    with child(backend, "crash") as (proc, line):
        assert line == "READY"
        with pytest.raises(LockBusyError, match=rf"child@ci .*pid {proc.pid}"):
            store.lock("apply", WHO).__enter__()
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    deadline = time.monotonic() + 10  # PostgreSQL notices the dead session almost at once
    while store.current_lock() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    with store.lock("apply", WHO):
        # Flushed batches survived; the two still queued in the child were never claimed.
        assert recorded_set(store, "c") == {"d1", "d2", "d3"}
        assert [j.apply_id for j in store.unfinished_applies()] == ["apply-1"]
        batches = [e for e in store.audit_entries() if e.kind == "batch"]
        assert [e.data["members"] for e in batches] == [["d1", "d2", "d3"]]
        assert store.verify_audit() is None
        store.record_batch("c", "add", ["p1", "p2"])  # the re-send is safe
        store.flush()
    assert recorded_set(store, "c") == {"d1", "d2", "d3", "p1", "p2"}


def test_unlock_lets_a_new_holder_past_a_live_one(backend: Backend) -> None:
    store = backend.open()
    with child(backend, "hold") as (proc, line):
        lock_id = line.removeprefix("LOCKED ")
        with pytest.raises(LockBusyError, match=lock_id):
            store.lock("apply", WHO).__enter__()
        assert store.unlock(lock_id).who == "child@ci"
        with store.lock("apply", WHO) as info:
            assert store.current_lock() == info
        assert proc.poll() is None  # unlock never touches the other process
