"""`state unlock`: refuses a live holder on this machine unless forced; audits every unlock."""

from __future__ import annotations

import pytest

from cohortops.apply.actor import Actor
from cohortops.errors import StateError
from cohortops.operations.state_report import unlock

from .conftest import Backend
from .test_locks import child

ADMIN = Actor(who="admin@laptop", trigger="manual")


def test_a_live_holder_is_refused_unless_forced_and_the_unlock_is_audited(
    backend: Backend,
) -> None:
    store = backend.open()
    with child(backend, "hold") as (proc, line):
        lock_id = line.removeprefix("LOCKED ")
        with pytest.raises(StateError) as caught:
            unlock(store, lock_id, ADMIN)
        message = str(caught.value)
        assert f"pid {proc.pid}" in message and "--force" in (caught.value.hint or "")
        held = store.current_lock()
        assert held is not None and held.id == lock_id
        assert "audit" in unlock(store, lock_id, ADMIN, force=True)
        assert proc.poll() is None
    (entry,) = [e for e in store.audit_entries() if e.kind == "state.unlock"]
    assert entry.actor == "admin@laptop"
    assert entry.data["lock_id"] == lock_id and entry.data["holder"] == "child@ci"
    assert entry.data["holder_pid"] == proc.pid and entry.data["forced"] is True
    assert entry.data["holder_alive"] is True
    assert store.verify_audit() is None


def test_a_stale_lock_unlocks_without_force_and_is_audited(backend: Backend) -> None:
    store = backend.open()
    backend.sql(
        "INSERT INTO cohortops_lock (id, lock_id, who, operation, created_at, pid, host) "
        "VALUES (1, 'ghost', 'gone@host', 'apply', '2025-01-01T00:00:00.000000Z', 1, 'h')"
    )
    unlock(store, "ghost", ADMIN)
    (entry,) = [e for e in store.audit_entries() if e.kind == "state.unlock"]
    assert entry.data["holder"] == "gone@host" and entry.data["forced"] is False
