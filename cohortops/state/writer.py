"""Group commits off the caller's hot path.

The applier hands over acknowledged batches at Braze's pace (a request every ~1 ms); a commit
costs about as much, so a writer thread folds many batches into one transaction: once
``group_ids`` ids are pending, once the oldest pending batch is ``group_seconds`` old, or when
someone calls :meth:`GroupWriter.flush`. A failed commit is sticky: every later call raises, and
batches not yet committed are dropped (they were never claimed, so the next apply re-sends them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cohortops.errors import StateError
from cohortops.membership import MemberOp
from cohortops.state.logs import StoreOptions


@dataclass(frozen=True)
class PendingBatch:
    cohort_id: str
    op: MemberOp
    ids: Sequence[str]
    audit: Mapping[str, Any] | None


class GroupWriter:
    def __init__(
        self,
        commit: Callable[[list[PendingBatch]], None],
        options: StoreOptions,
        name: str = "cohortops-state-writer",
    ) -> None:
        self._commit = commit
        self._options = options
        self._name = name
        self._cond = threading.Condition()
        self._pending: list[PendingBatch] = []
        self._pending_ids = 0
        self._in_flight_ids = 0
        self._first_at: float | None = None
        self._submitted = 0  # batches handed over
        self._settled = 0  # batches committed or dropped after a failure
        self._flush_wanted = False
        self._stop = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.commits = 0  # transactions committed, for tests and benchmarks

    def submit(self, batch: PendingBatch) -> None:
        with self._cond:
            self._raise_if_failed()
            # Backpressure: a writer that falls behind must not let pending ids grow unbounded.
            while (
                self._pending_ids + self._in_flight_ids >= self._options.pending_limit
                and self._error is None
            ):
                self._cond.wait()
            self._raise_if_failed()
            if self._stop:
                raise StateError("The state writer is closed; take the lock again to record.")
            self._pending.append(batch)
            self._pending_ids += len(batch.ids)
            self._submitted += 1
            if self._first_at is None:
                self._first_at = self._options.monotonic()
                self._cond.notify_all()  # the thread sleeps without a timeout while idle
            elif self._pending_ids >= self._options.group_ids:
                self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def flush(self) -> None:
        with self._cond:
            target = self._submitted
            if self._settled < target:
                self._flush_wanted = True
                self._cond.notify_all()
                while self._settled < target:
                    self._cond.wait()
                if self._settled == self._submitted:
                    self._flush_wanted = False
            self._raise_if_failed()

    def close(self) -> None:
        """Commit what is pending, stop the thread, and raise if any commit failed."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._cond:
            self._raise_if_failed()

    @property
    def failed(self) -> bool:
        with self._cond:
            return self._error is not None

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise StateError(
                f"Recording acknowledged member batches failed: {self._error}",
                hint="Batches that were not recorded will be re-sent by the next apply.",
            ) from self._error

    def _due(self) -> bool:
        if not self._pending:
            return False
        if self._stop or self._flush_wanted or self._pending_ids >= self._options.group_ids:
            return True
        assert self._first_at is not None
        return self._options.monotonic() - self._first_at >= self._options.group_seconds

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due():
                    if self._stop and not self._pending:
                        return
                    timeout = None
                    if self._first_at is not None:
                        age = self._options.monotonic() - self._first_at
                        timeout = max(0.0, self._options.group_seconds - age)
                    self._cond.wait(timeout)
                group, self._pending = self._pending, []
                self._in_flight_ids, self._pending_ids = self._pending_ids, 0
                self._first_at = None
            error: BaseException | None = None
            try:
                self._commit(group)
            except BaseException as exc:  # surfaced to the caller by the next call
                error = exc
            with self._cond:
                self._in_flight_ids = 0
                self._settled += len(group)
                if error is None:
                    self.commits += 1
                else:
                    self._error = error
                    self._settled += len(self._pending)
                    self._pending, self._pending_ids, self._first_at = [], 0, None
                self._cond.notify_all()
                if error is not None:
                    return
