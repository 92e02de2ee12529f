"""Plain data the store returns besides what :mod:`cohortops.state.snapshot` defines.

Audit entries, run history rows, apply journal rows and tuning options: frozen values that the
audit, history and CLI layers consume without knowing which backend produced them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cohortops.membership import MemberOp

RunTrigger = Literal["manual", "ci", "schedule"]

GENESIS_HASH = "0" * 64  # prev_hash of the first audit entry


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class AuditEntry:
    """One link of the hash chain: ``hash = sha256(prev_hash + canonical JSON of the entry)``."""

    seq: int
    at: dt.datetime
    kind: str  # "apply", "batch", "forget", "unlock", ...
    actor: str
    cohort_id: str | None
    data: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditProblem:
    """The first place where the stored audit log stops matching its own hash chain."""

    seq: int
    message: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.message}"


@dataclass(frozen=True)
class MemberEvent:
    """One acknowledged change of one member, as ``audit member ID`` lists it."""

    seq: int
    at: dt.datetime
    cohort_id: str | None
    op: MemberOp | None  # None for an entry that names the member without an add/remove
    kind: str
    actor: str
    details: Mapping[str, Any]  # the entry's data without the (long) member list


@dataclass(frozen=True)
class RunRecord:
    """One execution of a cohort's sync, what Kubit's import history shows and more."""

    cohort_id: str
    trigger: RunTrigger
    started_at: dt.datetime
    ended_at: dt.datetime
    result: str  # "success", "failed", "partial", "no-changes", "blocked", ...
    added: int = 0
    removed: int = 0
    failed: int = 0
    total_members: int = 0
    apply_id: str | None = None
    run_id: int | None = None  # assigned by the store
    error: str | None = None  # why it failed, one line, as the user was told


@dataclass(frozen=True)
class ApplyJournal:
    """An apply as the journal saw it; ``ended_at is None`` means it never finished."""

    apply_id: str
    plan_digest: str
    summary: Mapping[str, Any]
    who: str
    began_at: dt.datetime
    ended_at: dt.datetime | None = None
    result: str | None = None


@dataclass(frozen=True)
class StoreOptions:
    """Tuning knobs; the defaults are what the CLI uses, tests shrink or freeze them."""

    clock: Callable[[], dt.datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    group_ids: int = 1000  # commit once this many member ids are pending...
    group_seconds: float = 0.5  # ...or once the oldest pending batch is this old
    pending_limit: int = 200_000  # record_batch blocks while this many ids wait for the writer
    duckdb_memory_limit: str = "1GB"
    duckdb_threads: int = 2
