"""The one :class:`Store` implementation; backends differ only in what they plug into it.

A backend provides the :class:`Db` (connection + dialect), where snapshots live and how the OS
lock is taken. Cohorts, members, audit, history, locking rules, the writer: this shared core.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from cohortops.errors import StateError
from cohortops.http.retry import Again, Attempt, GaveUp, RetryPolicy, retry
from cohortops.membership import IdArray, MemberOp
from cohortops.state import auditlog, cancels, cohorts, group_commit, history, imports, member_index
from cohortops.state.codec import ts
from cohortops.state.locks import LockKeeper, OsLock
from cohortops.state.logs import ApplyJournal, AuditEntry, AuditProblem, RunRecord, StoreOptions
from cohortops.state.members import (
    DeltaRow,
    Deltas,
    DuckRunner,
    count_members,
    iter_members,
    members_array,
    read_delta_rows,
    resolve,
)
from cohortops.state.snapshot import LockInfo, RecordedMembers, StateSnapshot
from cohortops.state.snapstore import SnapshotStore
from cohortops.state.sqlcore import Db, Tx
from cohortops.state.sqlreads import DashboardReads
from cohortops.state.store import Store
from cohortops.state.writer import GroupWriter, PendingBatch

# Re-reading after a concurrent compaction: at once, three reads at most.
_REREAD = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_cap=0.0)


def _last_error(end: GaveUp) -> BaseException:
    assert end.last.error is not None
    return end.last.error


class SqlStore(DashboardReads, Store):
    def __init__(
        self,
        db: Db,
        snapshots: SnapshotStore,
        make_os_lock: Callable[[], OsLock],
        options: StoreOptions,
    ) -> None:
        self._db = db
        self._snaps = snapshots
        self._options = options
        self._locks = LockKeeper(db, make_os_lock, options.clock)
        self._duck = DuckRunner(options)
        self._held: tuple[LockInfo, OsLock] | None = None
        self._writer: GroupWriter | None = None
        self._known: set[str] = set()
        self._counts: dict[tuple[str, int, int], int] = {}
        self._closed = False

    @property
    def location(self) -> str:
        return self._db.location

    # -- read-only view -----------------------------------------------------------------------

    def snapshot(self) -> StateSnapshot:
        pending: list[tuple[cohorts.CohortRow, list[DeltaRow], Path | None]] = []
        with self._db.read() as tx:
            meta = tx.one("SELECT lineage, serial FROM cohortops_meta WHERE id = 1")
            assert meta is not None
            rows = cohorts.load_all(tx)
            heads: dict[str, int] = dict(
                tx.all("SELECT cohort_id, max(seq) FROM cohortops_deltas GROUP BY cohort_id")
            )
            counts: dict[str, int] = {}
            for row in rows:
                head = heads.get(row.cohort_id)
                key = (row.cohort_id, row.snap.generation, int(head or 0))
                if head is None:
                    counts[row.cohort_id] = row.snap.count
                elif key in self._counts:
                    counts[row.cohort_id] = self._counts[key]
                else:
                    delta_rows = read_delta_rows(tx, row.cohort_id)
                    pending.append((row, delta_rows, self._local(tx, row)))
        for row, delta_rows, path in pending:
            counts[row.cohort_id] = self._count(row, resolve(self._duck, delta_rows), path)
        records = {row.cohort_id: row.record(counts[row.cohort_id]) for row in rows}
        return StateSnapshot(lineage=str(meta[0]), serial=int(meta[1]), cohorts=records)

    def has_cohort(self, cohort_id: str) -> bool:
        with self._db.read() as tx:
            return cohorts.load(tx, cohort_id) is not None

    def _local(self, tx: Tx, row: cohorts.CohortRow) -> Path | None:
        return None if row.snap.ref is None else self._snaps.local_path(tx, row.cohort_id, row.snap)

    def _count(self, row: cohorts.CohortRow, deltas: Deltas, path: Path | None) -> int:
        key = (row.cohort_id, row.snap.generation, deltas.max_seq)
        if key not in self._counts:
            if len(self._counts) > 10_000:  # a long-running scheduler must not grow forever
                self._counts.clear()
            self._counts[key] = count_members(self._duck, path, row.snap.count, deltas)
        return self._counts[key]

    def _read_members(self, cohort_id: str) -> tuple[cohorts.CohortRow | None, Deltas, Path | None]:
        def attempt(now: Attempt) -> tuple[cohorts.CohortRow | None, Deltas, Path | None] | Again:
            failure: StateError | None = None
            with self._db.read() as tx:
                row = cohorts.load(tx, cohort_id)
                if row is None:
                    return None, resolve(self._duck, []), None
                delta_rows = read_delta_rows(tx, cohort_id)
                try:
                    path = self._local(tx, row)
                except StateError as exc:
                    failure = exc
            if failure is None:
                return row, resolve(self._duck, delta_rows), path
            # A compaction in another process may have retired the file we were told about
            # between our read and the stat; a fresh read names the new one.
            if not self._moved_on(row):
                raise failure
            return Again("the snapshot moved on", error=failure)

        return retry(attempt, _REREAD, gave_up=_last_error, sleep=lambda _seconds: None)

    def _moved_on(self, row: cohorts.CohortRow) -> bool:
        with self._db.read() as tx:
            now = cohorts.load(tx, row.cohort_id)
        return now is None or now.snap.generation != row.snap.generation

    def recorded_members(self, cohort_id: str) -> RecordedMembers:
        """A cohort not in the state has no recorded members (count 0, no snapshot)."""
        row, deltas, path = self._read_members(cohort_id)
        count = 0 if row is None else self._count(row, deltas, path)
        return RecordedMembers(cohort_id, path, deltas.added, deltas.removed, count)

    def members_iter(self, cohort_id: str) -> Iterator[str]:
        _row, deltas, path = self._read_members(cohort_id)
        return iter_members(self._duck, path, deltas)

    def members_array(self, cohort_id: str) -> IdArray:
        _row, deltas, path = self._read_members(cohort_id)
        return members_array(self._duck, path, deltas)

    # -- locks ---------------------------------------------------------------------------------

    @contextmanager
    def _lock(self, operation: str, who: str) -> Iterator[LockInfo]:
        info = self._acquire(operation, who)
        try:
            yield info
        finally:
            if self._held is not None and self._held[0].id == info.id:
                self._release()

    def lock(self, operation: str, who: str) -> AbstractContextManager[LockInfo]:
        return self._lock(operation, who)

    def _acquire(self, operation: str, who: str) -> LockInfo:
        if self._closed:
            raise StateError(f"The state store ({self.location}) is closed.")
        if self._held is not None:
            raise StateError(f"This process already holds the state: {self._held[0].describe()}.")
        info, os_lock = self._locks.acquire(operation, who)
        self._held = (info, os_lock)
        try:
            with self._db.read() as tx:
                rows = cohorts.load_all(tx)
            self._known = {row.cohort_id for row in rows}
            self._snaps.clean({row.snap.ref for row in rows if row.snap.ref is not None})
            self._writer = GroupWriter(
                lambda group: group_commit.commit_group(self._db, info, group, self._options.clock),
                self._options,
            )
        except BaseException:
            self._release()
            raise
        return info

    def _release(self) -> None:
        held, writer = self._held, self._writer
        if held is None:
            return
        self._writer = None
        try:
            if writer is not None:
                writer.close()  # commits what was handed over while the lock still fences it
        finally:
            self._held = None
            self._locks.release(*held)

    def current_lock(self) -> LockInfo | None:
        return self._locks.current()

    def unlock(self, lock_id: str) -> LockInfo:
        return self._locks.unlock(lock_id)

    def _require_lock(self, doing: str) -> LockInfo:
        if self._held is None:
            raise StateError(
                f"{doing.capitalize()} needs the state lock ({self.location}).",
                hint="Take it with `store.lock(operation, who)` first.",
            )
        return self._held[0]

    @contextmanager
    def _write(self, doing: str, *, bump: bool = True) -> Iterator[Tx]:
        """A fenced write; ``bump=False`` for bookkeeping that changes no plan (journal, audit,
        run history, compaction), so it does not make saved plans stale."""
        held = self._require_lock(doing)
        self.flush()  # keep the order: batches handed over earlier commit first
        with self._db.write(fence=held.id, bump=bump, doing=doing) as tx:
            yield tx

    # -- writer --------------------------------------------------------------------------------

    def upsert_cohort(
        self,
        cohort_id: str,
        settings: Mapping[str, Any],
        *,
        remote_created: bool | None = None,
        remote_name: str | None = None,
    ) -> None:
        with self._write(f"recording cohort {cohort_id}") as tx:
            now = ts(self._options.clock())
            cohorts.upsert(tx, cohort_id, settings, remote_created, remote_name, now)
        self._known.add(cohort_id)

    def rename_cohort(self, old: str, new: str) -> None:
        with self._write(f"moving cohort {old} to {new}") as tx:
            cohorts.rename(tx, old, new)
            self._snaps.rename(tx, old, new)
        self._known.discard(old)
        self._known.add(new)

    def forget_cohort(self, cohort_id: str) -> None:
        with self._write(f"forgetting cohort {cohort_id}") as tx:
            row = cohorts.require(tx, cohort_id)
            self._snaps.drop(tx, cohort_id, row.snap)
            cohorts.delete(tx, cohort_id)
        self._snaps.discard(row.snap)
        self._known.discard(cohort_id)

    def record_batch(
        self,
        cohort_id: str,
        op: MemberOp,
        ids: Sequence[str],
        audit: Mapping[str, Any] | None = None,
    ) -> None:
        self._require_lock("recording members")
        if op not in group_commit.OPS:
            raise ValueError(f"unknown member op {op!r}; expected 'add' or 'remove'")
        if isinstance(ids, str):
            raise TypeError("ids must be a sequence of member ids, not one string")
        if cohort_id not in self._known:
            raise StateError(
                f"Cohort {cohort_id} is not in the state; record it with upsert_cohort first."
            )
        if not ids and audit is None:
            return
        assert self._writer is not None
        frozen_audit = None if audit is None else dict(audit)
        self._writer.submit(PendingBatch(cohort_id, op, tuple(ids), frozen_audit))

    def replace_members(
        self, cohort_id: str, ids: Any, audit_kind: str, audit: Mapping[str, Any]
    ) -> int:
        doing = f"replacing the members of cohort {cohort_id}"
        held = self._require_lock(doing)
        self.flush()
        entry = auditlog.NewEntry(audit_kind, held.who, cohort_id, dict(audit))
        return imports.replace(
            self._db,
            self._duck,
            self._snaps,
            cohort_id,
            ids,
            lambda: self._write(doing),
            entry,
            self._options.clock(),
        )

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def mark_applied(self, cohort_id: str, at: dt.datetime) -> None:
        with self._write(f"marking cohort {cohort_id} applied", bump=False) as tx:
            cohorts.set_applied(tx, cohort_id, ts(at))

    def compact(self, cohort_id: str) -> None:
        self._require_lock(f"compacting cohort {cohort_id}")
        self.flush()
        row, deltas, old_path = self._read_members(cohort_id)
        if row is None:
            raise StateError(f"Cohort {cohort_id} is not in the state; nothing to compact.")
        if not deltas.max_seq:
            return
        write = lambda: self._write(f"compacting cohort {cohort_id}", bump=False)  # noqa: E731
        group_commit.fold(self._duck, self._snaps, row, deltas, old_path, write)

    def index_audit(self) -> None:
        self._require_lock("indexing the audit log")
        self.flush()
        member_index.refresh(
            self._db, self._duck, lambda: self._write("indexing the audit log", bump=False)
        )

    # -- apply journal -------------------------------------------------------------------------

    def journal_begin(self, apply_id: str, plan_digest: str, summary: Mapping[str, Any]) -> None:
        with self._write(f"journaling apply {apply_id}", bump=False) as tx:
            who = self._require_lock("journaling").who
            history.begin_apply(tx, apply_id, plan_digest, summary, who, ts(self._options.clock()))

    def journal_end(self, apply_id: str, result: str) -> None:
        with self._write(f"journaling the end of apply {apply_id}", bump=False) as tx:
            history.end_apply(tx, apply_id, result, ts(self._options.clock()))

    def unfinished_applies(self) -> list[ApplyJournal]:
        with self._db.read() as tx:
            return history.unfinished(tx)

    def request_cancel(self, apply_id: str, who: str) -> None:
        cancels.request(self._db, apply_id, who, self._options.clock())

    def cancel_request(self, apply_id: str) -> tuple[str, dt.datetime] | None:
        return cancels.requested(self._db, apply_id)

    # -- audit log -----------------------------------------------------------------------------

    def append_audit(
        self, kind: str, actor: str, cohort_id: str | None, data: Mapping[str, Any]
    ) -> AuditEntry:
        return self.append_audits(kind, actor, [(cohort_id, data)])[0]

    def append_audits(
        self, kind: str, actor: str, entries: Sequence[tuple[str | None, Mapping[str, Any]]]
    ) -> list[AuditEntry]:
        new = [auditlog.NewEntry(kind, actor, cohort_id, data) for cohort_id, data in entries]
        with self._write("appending to the audit log", bump=False) as tx:
            return auditlog.append(tx, new, self._options.clock())

    def audit_entries(
        self, cohort_id: str | None = None, since: dt.datetime | int | None = None
    ) -> Iterator[AuditEntry]:
        return auditlog.entries(self._db, cohort_id, since)

    def audit_head(self) -> tuple[int, str]:
        return auditlog.head(self._db)

    def verify_audit(self) -> AuditProblem | None:
        return auditlog.verify(self._db)

    # -- run history ---------------------------------------------------------------------------

    def record_run(self, run: RunRecord) -> RunRecord:
        with self._write(f"recording a run of {run.cohort_id}", bump=False) as tx:
            run_id = history.insert_run(tx, run)
        return dataclasses.replace(run, run_id=run_id)

    def runs(self, cohort_id: str | None = None, limit: int | None = None) -> list[RunRecord]:
        with self._db.read() as tx:
            return history.select_runs(tx, cohort_id, limit)

    def last_run(self, cohort_id: str) -> RunRecord | None:
        with self._db.read() as tx:
            found = history.select_runs(tx, cohort_id, 1, by_start=False)
        return found[0] if found else None

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._release()
        finally:
            self._closed = True
            self._duck.close()
            self._db.close()
