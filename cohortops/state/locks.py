"""The state lock: an OS- or database-held lock for liveness, plus a row naming the holder.

The OS part (an flock beside the SQLite db, a PostgreSQL session advisory lock) dies with its
holder, so a killed process never leaves the state locked; the ``cohortops_lock`` row only
describes the holder, and a row whose OS lock is free is stale and ignored. ``state unlock``
deletes the row and moves the OS lock to a fresh slot (a new lock file, a new advisory key); the
row is also the fencing token every write checks, so a holder that was unlocked stops writing.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable
from typing import Protocol

from cohortops.errors import LockBusyError, StateError
from cohortops.state.codec import parse_ts, ts
from cohortops.state.snapshot import LockInfo
from cohortops.state.sqlcore import Db, Tx

_LOCK_COLUMNS = "lock_id, who, operation, created_at, pid, host"


class OsLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock without waiting; False when another live holder has it."""

    def release(self) -> None: ...

    def busy(self) -> bool:
        """Whether someone holds the lock right now (probing does not keep it)."""

    def invalidate(self, tx: Tx) -> None:
        """Inside the unlock transaction: make the next acquirer use a fresh lock slot."""

    def after_invalidate(self) -> None:
        """After the unlock transaction committed."""


def _info(row: tuple[object, ...]) -> LockInfo:
    lock_id, who, operation, created_at, pid, host = row
    return LockInfo(
        id=str(lock_id),
        who=str(who),
        operation=str(operation),
        created_at=parse_ts(str(created_at)),
        pid=None if pid is None else int(str(pid)),
        host=None if host is None else str(host),
    )


def busy_error(info: LockInfo | None, location: str) -> LockBusyError:
    if info is None:
        return LockBusyError(
            f"The state ({location}) is locked by a process that has not recorded its details yet.",
            hint="Try again in a moment.",
        )
    where = ""
    if info.pid is not None or info.host is not None:
        where = f" (pid {info.pid if info.pid is not None else '?'} on {info.host or '?'})"
    return LockBusyError(
        f"The state ({location}) is locked: {info.describe()}{where}.",
        hint=f"If that process is gone, `cohortops state unlock {info.id}` removes the lock.",
    )


class LockKeeper:
    def __init__(
        self,
        db: Db,
        make_os_lock: Callable[[], OsLock],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._db = db
        self._make = make_os_lock
        self._clock = clock

    def _recorded(self) -> LockInfo | None:
        with self._db.read("reading the state lock") as tx:
            row = tx.one(f"SELECT {_LOCK_COLUMNS} FROM cohortops_lock WHERE id = 1")
        return None if row is None else _info(row)

    def acquire(self, operation: str, who: str) -> tuple[LockInfo, OsLock]:
        os_lock = self._make()
        if not os_lock.try_acquire():
            raise busy_error(self._recorded(), self._db.location)
        info = LockInfo(
            id=uuid.uuid4().hex[:12],
            who=who,
            operation=operation,
            created_at=self._clock(),
            pid=os.getpid(),
            host=socket.gethostname(),
        )
        try:
            with self._db.write(fence=None, bump=False, doing="taking the state lock") as tx:
                # Any row here is stale: its holder's OS lock was free, so the holder is gone.
                tx.execute("DELETE FROM cohortops_lock WHERE id = 1")
                tx.execute(
                    f"INSERT INTO cohortops_lock (id, {_LOCK_COLUMNS}) VALUES (1, ?, ?, ?, ?, ?, ?)",
                    (info.id, who, operation, ts(info.created_at), info.pid, info.host),
                )
        except BaseException:
            os_lock.release()
            raise
        return info, os_lock

    def release(self, info: LockInfo, os_lock: OsLock) -> None:
        try:
            with self._db.write(fence=None, bump=False, doing="releasing the state lock") as tx:
                tx.execute("DELETE FROM cohortops_lock WHERE id = 1 AND lock_id = ?", (info.id,))
        finally:
            os_lock.release()

    def current(self) -> LockInfo | None:
        if not self._make().busy():
            return None
        info = self._recorded()
        if info is None:  # between the holder's OS lock and its row
            return LockInfo(id="?", who="unknown", operation="?", created_at=self._clock())
        return info

    def unlock(self, lock_id: str) -> LockInfo:
        os_lock = self._make()
        with self._db.write(fence=None, bump=False, doing="removing the state lock") as tx:
            row = tx.one(f"SELECT {_LOCK_COLUMNS} FROM cohortops_lock WHERE id = 1")
            if row is None:
                raise StateError(
                    f"Lock {lock_id} is not held: the state ({self._db.location}) has no lock.",
                    hint="Nothing to unlock.",
                )
            info = _info(row)
            if info.id != lock_id:
                raise StateError(
                    f"Lock {lock_id} is not the state's lock; the current one is "
                    f"{info.describe()}.",
                    hint=f"Run `cohortops state unlock {info.id}` if that holder is gone.",
                )
            tx.execute("DELETE FROM cohortops_lock WHERE id = 1")
            os_lock.invalidate(tx)
        os_lock.after_invalidate()
        return info
