"""What `history` prints: every run per cohort, newest first, with why it failed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

from cohortops.errors import StateError
from cohortops.operations.report_format import TIME, iso, to_json
from cohortops.state import Store
from cohortops.state.logs import RunRecord

JSON_KEYS = (
    "cohort_id",
    "trigger",
    "started_at",
    "ended_at",
    "result",
    "added",
    "removed",
    "failed",
    "total_members",
    "apply_id",
    "error",
)


def run_dict(run: RunRecord) -> dict[str, Any]:
    row = dataclasses.asdict(run)
    row["started_at"], row["ended_at"] = iso(run.started_at), iso(run.ended_at)
    return {key: row[key] for key in JSON_KEYS}


def history_lines(store: Store, cohort_id: str | None, fmt: str, limit: int) -> Iterator[str]:
    runs = store.runs(cohort_id, limit=limit)
    if fmt == "json":
        yield to_json([run_dict(r) for r in runs])
        return
    if not runs:
        if cohort_id is not None and not store.has_cohort(cohort_id):
            raise StateError(
                f"No run of cohort '{cohort_id}' is recorded and the state does not know it; "
                "`cohortops state list` shows the cohorts."
            )
        yield "No runs recorded yet."
        return
    wide = max(24, *(len(r.cohort_id) for r in runs))  # pair ids: `cohort@connection`
    yield (
        f"{'started (UTC)':<19}  {'cohort':<{wide}} {'trigger':<8} {'result':<11} {'added':>9} "
        f"{'removed':>9} {'failed':>7} {'total':>11}"
    )
    for r in runs:
        yield (
            f"{r.started_at.astimezone(dt.UTC).strftime(TIME)}  {r.cohort_id:<{wide}} "
            f"{r.trigger:<8} "
            f"{r.result:<11} {r.added:>9,} {r.removed:>9,} {r.failed:>7,} {r.total_members:>11,}"
        )
        if r.error:
            yield f"{'':<21}why: {r.error}"
