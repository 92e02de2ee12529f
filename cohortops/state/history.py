"""Run history and the apply journal: small tables, plain SQL, shared by both backends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cohortops.errors import StateError
from cohortops.state.codec import dumps, loads_mapping, parse_ts, parse_ts_opt, ts
from cohortops.state.logs import ApplyJournal, RunRecord
from cohortops.state.sqlcore import Row, Tx

_RUN_COLUMNS = (
    "cohort_id, run_trigger, started_at, ended_at, result, added, removed, failed, "
    "total_members, apply_id, error"
)
_JOURNAL_COLUMNS = "apply_id, plan_digest, summary, who, began_at, ended_at, result"
_TRIGGERS = ("manual", "ci", "schedule")


def insert_run(tx: Tx, run: RunRecord) -> int:
    if run.trigger not in _TRIGGERS:
        raise ValueError(f"unknown run trigger {run.trigger!r}; expected one of {_TRIGGERS}")
    run_id = tx.scalar(
        f"INSERT INTO cohortops_runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING run_id",
        (
            run.cohort_id,
            run.trigger,
            ts(run.started_at),
            ts(run.ended_at),
            run.result,
            run.added,
            run.removed,
            run.failed,
            run.total_members,
            run.apply_id,
            run.error,
        ),
    )
    return int(run_id)


def _run(row: Row) -> RunRecord:
    (run_id, cohort_id, trigger, started, ended, result, added, removed, failed, total) = row[:10]
    apply_id, error = row[10], row[11]
    return RunRecord(
        cohort_id=cohort_id,
        trigger=trigger,
        started_at=parse_ts(started),
        ended_at=parse_ts(ended),
        result=result,
        added=int(added),
        removed=int(removed),
        failed=int(failed),
        total_members=int(total),
        apply_id=apply_id,
        run_id=int(run_id),
        error=error,
    )


def select_runs(
    tx: Tx, cohort_id: str | None, limit: int | None, *, by_start: bool = True
) -> list[RunRecord]:
    """Newest first: by start time (what a reader expects), or by when each was recorded."""
    sql = f"SELECT run_id, {_RUN_COLUMNS} FROM cohortops_runs"
    params: list[Any] = []
    if cohort_id is not None:
        sql += " WHERE cohort_id = ?"
        params.append(cohort_id)
    sql += " ORDER BY started_at DESC, run_id DESC" if by_start else " ORDER BY run_id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [_run(row) for row in tx.all(sql, params)]


def begin_apply(
    tx: Tx, apply_id: str, plan_digest: str, summary: Mapping[str, Any], who: str, at: str
) -> None:
    if tx.one("SELECT 1 FROM cohortops_applies WHERE apply_id = ?", (apply_id,)) is not None:
        raise StateError(f"Apply {apply_id} is already in the journal; use a new apply id.")
    tx.execute(
        f"INSERT INTO cohortops_applies ({_JOURNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
        (apply_id, plan_digest, dumps(dict(summary)), who, at),
    )


def end_apply(tx: Tx, apply_id: str, result: str, at: str) -> None:
    row = tx.one("SELECT ended_at FROM cohortops_applies WHERE apply_id = ?", (apply_id,))
    if row is None:
        raise StateError(f"Apply {apply_id} is not in the journal; call journal_begin first.")
    if row[0] is not None:
        raise StateError(f"Apply {apply_id} already ended in the journal.")
    tx.execute(
        "UPDATE cohortops_applies SET ended_at = ?, result = ? WHERE apply_id = ?",
        (at, result, apply_id),
    )


def unfinished(tx: Tx) -> list[ApplyJournal]:
    rows = tx.all(
        f"SELECT {_JOURNAL_COLUMNS} FROM cohortops_applies WHERE ended_at IS NULL "
        "ORDER BY began_at, apply_id"
    )
    return [
        ApplyJournal(
            apply_id=apply_id,
            plan_digest=digest,
            summary=loads_mapping(summary),
            who=who,
            began_at=parse_ts(began),
            ended_at=parse_ts_opt(ended),
            result=result,
        )
        for apply_id, digest, summary, who, began, ended, result in rows
    ]
