"""What the read-mostly commands print: state, audit log, member timelines, run history.

Each function takes a store and returns lines, so the CLI stays a thin layer and tests need no
terminal.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from cohortops.apply.actor import Actor
from cohortops.errors import AuditError, CohortopsError, StateError
from cohortops.state import Store
from cohortops.state.logs import AuditEntry

TIME = "%Y-%m-%d %H:%M:%S"


def _when(at: dt.datetime | None) -> str:
    return at.astimezone(dt.UTC).strftime(TIME) + " UTC" if at else "never"


def state_list_lines(store: Store) -> Iterator[str]:
    snap = store.snapshot()
    yield f"State {store.location} — lineage {snap.lineage}, serial {snap.serial}"
    if not snap.cohorts:
        yield "No cohorts recorded yet. Run `cohortops apply`."
        return
    width = max(len(c) for c in snap.cohorts)
    for cohort_id, rec in sorted(snap.cohorts.items()):
        yield (
            f"  {cohort_id:<{width}}  {rec.member_count:>12,} members  "
            f"last apply {_when(rec.last_apply_at)}"
        )


def state_show_lines(store: Store, cohort_id: str, limit: int) -> Iterator[str]:
    snap = store.snapshot()
    rec = snap.cohorts.get(cohort_id)
    if rec is None:
        raise StateError(
            f"Cohort '{cohort_id}' is not in the state; `cohortops state list` shows what is."
        )
    yield f"cohort:      {cohort_id}"
    yield f"members:     {rec.member_count:,}"
    yield f"serial:      {snap.serial} (lineage {snap.lineage})"
    yield f"created:     {_when(rec.created_at)}"
    yield f"last apply:  {_when(rec.last_apply_at)}"
    if rec.remote_name is not None:
        yield f"braze name:  {rec.remote_name}"
    yield "settings:    " + json.dumps(dict(rec.settings), sort_keys=True)
    for shown, member in enumerate(store.members_iter(cohort_id)):
        if limit and shown >= limit:
            yield f"  … {rec.member_count - shown:,} more (--limit 0 lists all)"
            break
        yield f"  {member}"


def forget(store: Store, cohort_id: str, actor: Actor) -> str:
    with store.lock("state forget", actor.who):
        snap = store.snapshot()
        rec = snap.cohorts.get(cohort_id)
        if rec is None:
            raise StateError(f"Cohort '{cohort_id}' is not in the state; nothing to forget.")
        store.forget_cohort(cohort_id)
        store.append_audit(
            "state.forget", actor.who, cohort_id, {"members": rec.member_count, **actor.as_dict()}
        )
        store.flush()
    return (
        f"Forgot cohort '{cohort_id}' ({rec.member_count:,} members) without touching Braze. "
        "Its members stay in Braze; the next plan treats the cohort as new if it is declared."
    )


def unlock(store: Store, lock_id: str, actor: Actor) -> str:
    info = store.unlock(lock_id)
    store.append_audit(
        "state.unlock",
        actor.who,
        None,
        {"lock_id": info.id, "holder": info.who, "operation": info.operation, **actor.as_dict()},
    )
    store.flush()
    return f"Removed {info.describe()}."


def _parse_since(since: str | None) -> dt.datetime | None:
    if since is None:
        return None
    try:
        day = dt.datetime.fromisoformat(since)
    except ValueError:
        raise CohortopsError(
            f"--since '{since}' is not a date; use YYYY-MM-DD or an ISO-8601 time."
        ) from None
    return day if day.tzinfo else day.replace(tzinfo=dt.UTC)


def _describe(entry: AuditEntry) -> str:
    data = dict(entry.data)
    members = data.pop("members", None)
    if members is not None:
        data["members"] = len(members)
    details = " ".join(f"{k}={v}" for k, v in sorted(data.items()) if v not in (None, ""))
    cohort = f" [{entry.cohort_id}]" if entry.cohort_id else ""
    return f"{entry.seq:>6}  {_when(entry.at)}  {entry.kind}{cohort} by {entry.actor}  {details}"


def audit_lines(store: Store, cohort_id: str | None, since: str | None) -> Iterator[str]:
    for entry in store.audit_entries(cohort_id=cohort_id, since=_parse_since(since)):
        yield _describe(entry)


def verify(store: Store) -> str:
    problem = store.verify_audit()
    if problem is not None:
        raise AuditError(
            f"Audit log verification failed at {problem}. Entries from there on cannot be "
            "trusted; restore the state from a backup or investigate who changed it."
        )
    count = sum(1 for _ in store.audit_entries())
    return f"Audit log intact: {count:,} entries, hash chain verified."


def member_lines(store: Store, member_id: str) -> Iterator[str]:
    events = store.member_timeline(member_id)
    if not events:
        yield f"No recorded change for member '{member_id}'."
        return
    for e in events:
        verb = {"add": "entered", "remove": "left"}.get(e.op or "", e.kind)
        apply_id = e.details.get("apply_id", "?")
        base = " (baseline, not sent)" if e.details.get("baseline") else ""
        yield f"{_when(e.at)}  {verb} {e.cohort_id}{base}  apply {apply_id} by {e.actor}"


def export_jsonl(store: Store) -> Iterator[str]:
    for e in store.audit_entries():
        yield json.dumps(
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "kind": e.kind,
                "actor": e.actor,
                "cohort_id": e.cohort_id,
                "data": e.data,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            },
            sort_keys=True,
            default=str,
        )


def history_lines(store: Store, cohort_id: str | None, fmt: str, limit: int) -> Iterator[str]:
    runs = store.runs(cohort_id, limit=limit)
    if fmt == "json":
        rows: list[dict[str, Any]] = [
            {
                "cohort_id": r.cohort_id,
                "trigger": r.trigger,
                "started_at": r.started_at.isoformat(),
                "ended_at": r.ended_at.isoformat(),
                "result": r.result,
                "added": r.added,
                "removed": r.removed,
                "failed": r.failed,
                "total_members": r.total_members,
                "apply_id": r.apply_id,
            }
            for r in runs
        ]
        yield json.dumps(rows, indent=2)
        return
    if not runs:
        if cohort_id is not None and not store.has_cohort(cohort_id):
            raise StateError(
                f"No run of cohort '{cohort_id}' is recorded and the state does not know it; "
                "`cohortops state list` shows the cohorts."
            )
        yield "No runs recorded yet."
        return
    yield f"{'started (UTC)':<19}  {'cohort':<24} {'trigger':<8} {'result':<9} {'added':>9} {'removed':>9} {'failed':>7} {'total':>11}"
    for r in runs:
        yield (
            f"{r.started_at.astimezone(dt.UTC).strftime(TIME)}  {r.cohort_id:<24} {r.trigger:<8} "
            f"{r.result:<9} {r.added:>9,} {r.removed:>9,} {r.failed:>7,} {r.total_members:>11,}"
        )
