"""Recording a drift check in the audit log, so the dashboard can say when drift was last seen.

Drift only reads Braze, but whether the state still matched Braze, and when that was checked, is
worth keeping. One ``drift.checked`` entry per checked cohort holds counts only: never member
ids (a complete check can find millions) and never anything from the configuration's secrets.
The lock is taken for the appends alone, after Braze was read; when a run holds it, the check
is reported and not recorded rather than waiting on or failing beside the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cohortops.apply.actor import Actor
from cohortops.errors import LockBusyError
from cohortops.state import Store

KIND = "drift.checked"


def entry_data(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a ``drift --format json`` row records, counts only; None when it was not checked.

    ``missing``: recorded but not in Braze (unknown there, or without the cohort's value);
    ``unexpected``: in Braze but not recorded, which only a complete check can see (else None).
    """
    if row.get("skipped_reason"):
        return None
    complete = bool(row.get("complete"))
    if complete:
        missing = int(row.get("missing_count") or 0)
        unexpected: int | None = int(row.get("not_recorded_count") or 0)
    else:
        missing = len(row.get("unknown") or ()) + len(row.get("missing_value") or ())
        unexpected = None
    return {
        "complete": complete,
        "method": row.get("method"),
        "checked": int(row.get("checked") or 0),
        "recorded": int(row.get("recorded") or 0),
        "missing": missing,
        "unexpected": unexpected,
        "drifted": bool(row.get("drifted")),
    }


def record(store: Store, rows: Sequence[Mapping[str, Any]], actor: Actor) -> str | None:
    """Append one entry per checked cohort; a note for the user when the state was busy."""
    entries = [(row["cohort_id"], data) for row in rows if (data := entry_data(row)) is not None]
    if not entries or not store.snapshot().lineage:  # no state yet: drift creates none
        return None
    try:
        with store.lock("drift", actor.who):
            for cohort_id, data in entries:
                store.append_audit(KIND, actor.who, cohort_id, {**data, **actor.as_dict()})
            store.flush()
    except LockBusyError as exc:
        return f"Drift result not recorded in the audit log: {exc.message}"
    return None
