"""What the pages show, read through the :class:`~cohortops.state.Store` interface.

Every read here is lock-free (short read transactions; SQLite WAL readers never wait for the
applier's writes), so the dashboard never blocks an apply and shows a running one as it goes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cohortops.config import Config
from cohortops.config.schedule import describe, next_at
from cohortops.operations import drift_record
from cohortops.plan.settings import cohort_settings
from cohortops.state import AuditEntry, MemberEvent, RunRecord, Store

RUNS_SHOWN = 200  # run history rows on a cohort page (charts show the newest CHART_RUNS)
RUNS_ALL = 1000  # with ?runs=all
CHART_RUNS = 120
AUDIT_SHOWN = 50


@dataclass(frozen=True)
class CohortRow:
    cohort_id: str
    name: str
    declared: bool
    recorded: bool
    connection: str
    delivery: str
    members: int | None
    last_run: RunRecord | None
    reason: str | None  # why the last run failed, when it did
    schedule: str | None
    next_run: dt.datetime | None
    drift: str  # counts of the newest drift check, or "not checked"
    drift_at: dt.datetime | None  # when it ran


@dataclass(frozen=True)
class Overview:
    location: str
    lineage: str
    serial: int
    lock: str | None
    rows: tuple[CohortRow, ...]


@dataclass(frozen=True)
class CohortDetail:
    row: CohortRow
    runs: tuple[RunRecord, ...]  # newest first
    audit: tuple[AuditEntry, ...]  # newest first
    declared: Mapping[str, Any] | None
    recorded: Mapping[str, Any] | None
    remote_name: str | None


@dataclass(frozen=True)
class ApplyProgress:
    apply_id: str
    who: str
    began_at: dt.datetime
    planned: int
    acknowledged: int
    cohorts: tuple[str, ...] = field(default_factory=tuple)


def _delivery(config: Config, cohort_id: str) -> tuple[str, str]:
    cohort = config.cohorts.get(cohort_id)
    if cohort is None:
        return "", ""
    connection = config.connections[cohort.connection]
    method = connection.delivery.method
    attribute = getattr(connection.delivery, "attribute", None)
    delivery = f"attribute {attribute}" if method == "attribute" and attribute else method
    return f"{connection.id} → {connection.destination}", delivery


def _drift(store: Store, cohort_id: str) -> tuple[str, dt.datetime | None]:
    """The newest ``cohortops drift`` result recorded for the cohort, as counts, and its time."""
    found = store.recent_audit(cohort_id, 1, (drift_record.KIND,))
    if not found:
        return "not checked", None
    data, at = found[0].data, found[0].at
    scope = "" if data.get("complete") else f" in {int(data.get('checked') or 0):,} sampled"
    if not data.get("drifted"):
        return f"none{scope}", at
    counts = [f"{int(data.get('missing') or 0):,} missing"]
    if data.get("unexpected") is not None:
        counts.append(f"{int(data['unexpected']):,} unexpected")
    return f"{', '.join(counts)}{scope}", at


def cohort_row(
    config: Config, store: Store, cohort_id: str, members: int | None, now: dt.datetime
) -> CohortRow:
    cohort = config.cohorts.get(cohort_id)
    connection, delivery = _delivery(config, cohort_id)
    last = store.last_run(cohort_id)
    reason = last.error if last is not None else None
    schedule = cohort.schedule if cohort is not None else None
    drift, drift_at = _drift(store, cohort_id)
    return CohortRow(
        cohort_id=cohort_id,
        name=cohort.name if cohort is not None else cohort_id,
        declared=cohort is not None,
        recorded=members is not None,
        connection=connection,
        delivery=delivery,
        members=members,
        last_run=last,
        reason=reason,
        schedule=describe(schedule) if schedule is not None else None,
        next_run=next_at(schedule, now) if schedule is not None else None,
        drift=drift,
        drift_at=drift_at,
    )


def overview(config: Config, store: Store, now: dt.datetime) -> Overview:
    snap = store.snapshot()
    ids = sorted(set(config.cohorts) | set(snap.cohorts))
    rows = tuple(
        cohort_row(
            config,
            store,
            cid,
            snap.cohorts[cid].member_count if cid in snap.cohorts else None,
            now,
        )
        for cid in ids
    )
    lock = store.current_lock()
    return Overview(
        location=store.location,
        lineage=snap.lineage,
        serial=snap.serial,
        lock=lock.describe() if lock is not None else None,
        rows=rows,
    )


def cohort_detail(
    config: Config, store: Store, cohort_id: str, now: dt.datetime, runs: int = RUNS_SHOWN
) -> CohortDetail | None:
    snap = store.snapshot()
    record = snap.cohorts.get(cohort_id)
    cohort = config.cohorts.get(cohort_id)
    if record is None and cohort is None:
        return None
    row = cohort_row(config, store, cohort_id, record.member_count if record else None, now)
    return CohortDetail(
        row=row,
        runs=tuple(store.runs(cohort_id, runs)),
        audit=tuple(store.recent_audit(cohort_id, AUDIT_SHOWN)),
        declared=cohort_settings(config, cohort) if cohort is not None else None,
        recorded=record.settings if record is not None else None,
        remote_name=record.remote_name if record is not None else None,
    )


@dataclass(frozen=True)
class Timeline:
    member_id: str
    events: tuple[MemberEvent, ...]
    applies: Mapping[str, Mapping[str, Any]]  # apply_id -> the apply.start entry's data


def timeline(store: Store, member_id: str) -> Timeline:
    events = tuple(store.member_timeline(member_id))
    wanted = {str(e.details.get("apply_id")) for e in events if e.details.get("apply_id")}
    applies: dict[str, Mapping[str, Any]] = {}
    if wanted:
        for entry in store.recent_audit(None, 100_000, ("apply.start",), unscoped=True):
            key = str(entry.data.get("apply_id"))
            if key in wanted:
                applies[key] = entry.data
                if len(applies) == len(wanted):
                    break
    return Timeline(member_id, events, applies)


def progress(store: Store) -> list[ApplyProgress]:
    """Applies that began and have not ended, with what Braze acknowledged so far."""
    running = store.unfinished_applies()
    if not running:
        return []
    pending = store.pending_changes()
    out = []
    for journal in running:
        summary = journal.summary
        cohorts = tuple(str(c) for c in summary.get("cohorts", ()) or ())
        planned = int(summary.get("members_to_add", 0) or 0) + int(
            summary.get("members_to_remove", 0) or 0
        )
        done = sum(n for (cid, _op), n in pending.items() if not cohorts or cid in cohorts)
        out.append(
            ApplyProgress(
                journal.apply_id,
                journal.who,
                journal.began_at,
                planned,
                min(done, planned),
                cohorts,
            )
        )
    return out


def points(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs charted, oldest first."""
    return list(reversed(runs[:CHART_RUNS]))
