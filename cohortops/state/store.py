"""The state store interface every backend implements, and the one conformance suite tests.

Reads need nothing. Every write needs the lock from :meth:`Store.lock`, held by this store; a
write without it raises :class:`~cohortops.errors.StateError`. Every committed write bumps
``serial`` by exactly one (lock bookkeeping is not a state change and does not).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from cohortops.membership import IdArray, MemberOp
from cohortops.state.logs import (
    ApplyJournal,
    AuditEntry,
    AuditProblem,
    MemberEvent,
    RunRecord,
)
from cohortops.state.snapshot import LockInfo, RecordedMembers, StateSnapshot


class Store(ABC):
    """A state backend: read-only view for the planner, writer for the applier."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the state lives, for messages ("sqlite state .cohortops/state.db"); no secrets."""

    # -- read-only view -----------------------------------------------------------------------

    @abstractmethod
    def snapshot(self) -> StateSnapshot:
        """Lineage, serial and every cohort's record, read in one consistent transaction."""

    @abstractmethod
    def has_cohort(self, cohort_id: str) -> bool: ...

    @abstractmethod
    def recorded_members(self, cohort_id: str) -> RecordedMembers:
        """Snapshot path + resolved deltas (sorted pyarrow arrays) + exact count."""

    @abstractmethod
    def members_iter(self, cohort_id: str) -> Iterator[str]:
        """Every recorded member of the cohort, sorted, streamed."""

    @abstractmethod
    def members_array(self, cohort_id: str) -> IdArray:
        """Every recorded member as one sorted pyarrow string array (a destroy plan's removals)."""

    # -- locks ---------------------------------------------------------------------------------

    @abstractmethod
    def lock(self, operation: str, who: str) -> AbstractContextManager[LockInfo]:
        """Hold the state lock; fails fast with LockBusyError when someone else holds it."""

    @abstractmethod
    def current_lock(self) -> LockInfo | None:
        """The live holder, if any (a recorded holder that is gone counts as no lock)."""

    @abstractmethod
    def unlock(self, lock_id: str) -> LockInfo:
        """Remove the recorded lock ``lock_id`` (only that one) and return what it was."""

    # -- writer (needs the lock) ---------------------------------------------------------------

    @abstractmethod
    def upsert_cohort(
        self,
        cohort_id: str,
        settings: Mapping[str, Any],
        *,
        remote_created: bool | None = None,
        remote_name: str | None = None,
    ) -> None: ...

    @abstractmethod
    def rename_cohort(self, old: str, new: str) -> None: ...

    @abstractmethod
    def forget_cohort(self, cohort_id: str) -> None: ...

    @abstractmethod
    def record_batch(
        self,
        cohort_id: str,
        op: MemberOp,
        ids: Sequence[str],
        audit: Mapping[str, Any] | None = None,
    ) -> None:
        """Record members Braze acknowledged; durable after the next group commit or flush().

        With ``audit``, the same commit appends an audit entry of kind ``batch`` for the cohort,
        actor = the lock holder, data = ``{**audit, "op": op, "members": list(ids)}``.
        """

    @abstractmethod
    def replace_members(
        self, cohort_id: str, ids: Any, audit_kind: str, audit: Mapping[str, Any]
    ) -> int:
        """Make ``ids`` (a pyarrow string array or a sequence) exactly the recorded members.

        One write: the new snapshot, no deltas left, and an audit entry ``audit_kind`` (actor =
        the lock holder, data = ``audit``) in the same commit. Returns the member count.
        """

    @abstractmethod
    def flush(self) -> None:
        """Block until every batch handed to record_batch is committed; raise if one failed."""

    @abstractmethod
    def mark_applied(self, cohort_id: str, at: dt.datetime) -> None: ...

    @abstractmethod
    def compact(self, cohort_id: str) -> None:
        """Fold the cohort's deltas into a new snapshot, atomically; no-op without deltas."""

    @abstractmethod
    def index_audit(self) -> None:
        """Under the lock: bring the member index up to date with the audit log, if it lags by
        enough entries. Once per apply, after its last cohort: a first build takes seconds."""

    # -- apply journal -------------------------------------------------------------------------

    @abstractmethod
    def journal_begin(self, apply_id: str, plan_digest: str, summary: Mapping[str, Any]) -> None:
        """Note that an apply started (needs the lock; ``who`` is the lock holder)."""

    @abstractmethod
    def journal_end(self, apply_id: str, result: str) -> None: ...

    @abstractmethod
    def unfinished_applies(self) -> list[ApplyJournal]:
        """Applies that began and never ended (the process died), oldest first."""

    @abstractmethod
    def request_cancel(self, apply_id: str, who: str) -> None:
        """Ask the running apply ``apply_id`` to stop. Needs no lock (the apply holds it)."""

    @abstractmethod
    def cancel_request(self, apply_id: str) -> tuple[str, dt.datetime] | None:
        """(who asked, when) if someone asked ``apply_id`` to stop."""

    # -- audit log -----------------------------------------------------------------------------

    @abstractmethod
    def append_audit(
        self, kind: str, actor: str, cohort_id: str | None, data: Mapping[str, Any]
    ) -> AuditEntry: ...

    @abstractmethod
    def append_audits(
        self, kind: str, actor: str, entries: Sequence[tuple[str | None, Mapping[str, Any]]]
    ) -> list[AuditEntry]:
        """One entry of ``kind`` per ``(cohort_id, data)``, all in one commit."""

    @abstractmethod
    def audit_entries(
        self, cohort_id: str | None = None, since: dt.datetime | int | None = None
    ) -> Iterator[AuditEntry]:
        """Entries in seq order; ``since`` is a first time (``at >= since``) or a first seq."""

    @abstractmethod
    def audit_head(self) -> tuple[int, str]:
        """The newest entry's seq and hash as the state records them (0 and the genesis hash
        when the log is empty): what an anchor kept elsewhere records."""

    @abstractmethod
    def verify_audit(self) -> AuditProblem | None:
        """The first entry that was edited, deleted or reordered, or None when intact."""

    @abstractmethod
    def member_timeline(self, member_id: str) -> list[MemberEvent]:
        """Every audit entry naming the member in ``data["members"]``, in seq order."""

    def recent_audit(
        self,
        cohort_id: str | None = None,
        limit: int = 50,
        kinds: Sequence[str] = (),
        *,
        unscoped: bool = False,
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries (of ``kinds`` when given), newest first; lock-free.

        ``unscoped`` keeps only entries about no cohort (``apply.start``, ...). This default
        reads the whole log; backends answer from an index.
        """
        kept: deque[AuditEntry] = deque(maxlen=max(limit, 0))
        for entry in self.audit_entries(cohort_id):
            if unscoped and entry.cohort_id is not None:
                continue
            if not kinds or entry.kind in kinds:
                kept.append(entry)
        return list(reversed(kept))

    def pending_changes(self) -> dict[tuple[str, MemberOp], int]:
        """Acknowledged member changes per (cohort, op) not yet folded into a snapshot.

        An apply compacts each cohort when it finishes it, so during an apply this is what
        Braze has acknowledged so far; a dashboard polls it. Backends without it answer {}.
        """
        return {}

    # -- run history ---------------------------------------------------------------------------

    @abstractmethod
    def record_run(self, run: RunRecord) -> RunRecord:
        """Store a finished run; returns it with ``run_id`` set."""

    @abstractmethod
    def runs(self, cohort_id: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""

    @abstractmethod
    def last_run(self, cohort_id: str) -> RunRecord | None: ...

    # -- lifecycle -----------------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None:
        """Flush, release a held lock and close connections; safe to call twice."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
