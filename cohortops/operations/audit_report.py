"""What `audit log|verify|member|export` print: one line per entry, or JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from cohortops.errors import AuditError, CohortopsError
from cohortops.operations.report_format import iso, to_json, when
from cohortops.state import Store
from cohortops.state.logs import AuditEntry


def parse_since(since: str | None) -> dt.datetime | None:
    if since is None:
        return None
    try:
        day = dt.datetime.fromisoformat(since)
    except ValueError:
        raise CohortopsError(
            f"--since '{since}' is not a date; use YYYY-MM-DD or an ISO-8601 time."
        ) from None
    return day if day.tzinfo else day.replace(tzinfo=dt.UTC)


def _detail(value: Any) -> str:
    # Member lists are shown as counts; every other value as it was recorded.
    if isinstance(value, list | tuple):
        return f"{len(value):,} item(s)" if len(value) > 5 else ",".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def describe(entry: AuditEntry) -> str:
    data = dict(entry.data)
    members = data.pop("members", None)
    if isinstance(members, list | tuple):
        data["members"] = len(members)
    elif members is not None:
        data["members"] = members
    details = " ".join(
        f"{k}={_detail(v)}" for k, v in sorted(data.items()) if v not in (None, "", [], {})
    )
    cohort = f" [{entry.cohort_id}]" if entry.cohort_id else ""
    return f"{entry.seq:>6}  {when(entry.at)}  {entry.kind}{cohort} by {entry.actor}  {details}"


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": iso(e.at),
        "kind": e.kind,
        "actor": e.actor,
        "cohort_id": e.cohort_id,
        "data": e.data,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def audit_lines(
    store: Store, cohort_id: str | None, since: str | None, fmt: str = "text"
) -> Iterator[str]:
    entries = store.audit_entries(cohort_id=cohort_id, since=parse_since(since))
    if fmt == "json":
        yield to_json([entry_dict(e) for e in entries])
        return
    for entry in entries:
        yield describe(entry)


MIN_ANCHOR = 16  # hex characters of a head hash an anchor must give


def verify(store: Store, head: str | None = None) -> str:
    """Check the hash chain; with ``head`` (a hash recorded outside the state, e.g. printed by
    an apply into a CI log), also check that the chain still contains it. The chain alone
    cannot see a rewrite by someone who can write the database: they can recompute every hash
    and the stored head. An anchor they cannot edit can."""
    anchor = head.strip().lower() if head is not None else None
    if anchor is not None and (
        len(anchor) < MIN_ANCHOR or not all(c in "0123456789abcdef" for c in anchor)
    ):
        raise CohortopsError(
            f"--head needs at least {MIN_ANCHOR} hex characters of an audit hash, as printed "
            "after an apply."
        )
    problem = store.verify_audit()
    if problem is not None:
        raise AuditError(
            f"Audit log verification failed at {problem}. Entries from there on cannot be "
            "trusted; restore the state from a backup or investigate who changed it."
        )
    count, found = 0, None
    for entry in store.audit_entries():
        count += 1
        if anchor is not None and found is None and entry.hash.startswith(anchor):
            found = entry.seq
    seq, newest = store.audit_head()
    if anchor is not None and found is None:
        raise AuditError(
            f"Audit log does not contain the anchored head {anchor[:16]}…: the log was "
            "rewritten after that hash was recorded (or the anchor belongs to another state). "
            "Restore the state from a backup or investigate who changed it."
        )
    text = f"Audit log intact: {count:,} entries, hash chain verified; head {newest} (entry {seq})."
    if found is not None:
        text += f" Anchor found at entry {found} ({seq - found:,} entries after it)."
    return text


def head_line(store: Store) -> str:
    """Printed after each apply, for the CI log or PR comment to keep as an anchor."""
    seq, newest = store.audit_head()
    return f"Audit head: {newest} (entry {seq}); check later with `cohortops audit verify --head {newest}`."


def member_lines(store: Store, member_id: str) -> Iterator[str]:
    events = store.member_timeline(member_id)
    if not events:
        yield f"No recorded change for member '{member_id}'."
        return
    for e in events:
        verb = {"add": "entered", "remove": "left"}.get(e.op or "", e.kind)
        apply_id = e.details.get("apply_id", "?")
        base = " (baseline, not sent)" if e.details.get("baseline") else ""
        yield f"{when(e.at)}  {verb} {e.cohort_id}{base}  apply {apply_id} by {e.actor}"


def export_jsonl(store: Store) -> Iterator[str]:
    for e in store.audit_entries():
        yield json.dumps(entry_dict(e), sort_keys=True, default=str)
