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
from cohortops.state.empty import NO_STATE_LINEAGE

KIND = "drift.checked"


def entry_data(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a ``drift --format json`` row records, counts only; None when it was not checked.

    ``missing``: recorded but not in Braze (unknown there, or without the cohort's value);
    ``unexpected``: in Braze but not recorded, which only a complete check can see (else None).
    """
    if row.get("skipped_reason"):
        return None
    return {
        "complete": bool(row.get("complete")),
        "method": row.get("method"),
        "checked": int(row["checked"]),
        "recorded": int(row["recorded"]),
        "missing": int(row["missing_count"]),
        "unexpected": row["not_recorded_count"],
        "drifted": bool(row["drifted"]),
    }


def record(
    store: Store, rows: Sequence[Mapping[str, Any]], actor: Actor, lineage: str
) -> str | None:
    """Append one entry per checked cohort of the state with ``lineage`` (none without a state);
    a note for the user when the state was busy."""
    entries = [(row["cohort_id"], data) for row in rows if (data := entry_data(row)) is not None]
    if not entries or lineage == NO_STATE_LINEAGE:  # no state yet: drift creates none
        return None
    try:
        with store.lock("drift", actor.who):
            # append_audits commits before it returns: nothing is left to flush.
            store.append_audits(
                KIND, actor.who, [(cid, {**data, **actor.as_dict()}) for cid, data in entries]
            )
    except LockBusyError as exc:
        return f"Drift result not recorded in the audit log: {exc.message}"
    return None
