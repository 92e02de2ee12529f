"""Replacing a cohort's recorded members wholesale (``cohortops import``, refreshed applies).

The new set is written as the next snapshot generation straight from an Arrow array (DuckDB
copies it to Parquet; no Python object per member), every delta row of the cohort is dropped,
and the audit entry is appended in the same transaction that points the cohort at it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pyarrow as pa

from cohortops.errors import StateError
from cohortops.membership.distinct import sorted_distinct
from cohortops.state import auditlog, cohorts
from cohortops.state.group_commit import next_generation
from cohortops.state.members import Deltas, DuckRunner
from cohortops.state.snapstore import SnapshotStore
from cohortops.state.sqlcore import Db, Tx


def replace(
    db: Db,
    duck: DuckRunner,
    snaps: SnapshotStore,
    cohort_id: str,
    ids: Any,
    write: Callable[[], AbstractContextManager[Tx]],
    entry: auditlog.NewEntry,
    at: dt.datetime,
) -> int:
    """Make ``ids`` exactly the cohort's recorded members (the caller holds the lock)."""
    with db.read() as tx:
        row = cohorts.load(tx, cohort_id)
    if row is None:
        raise StateError(f"Cohort {cohort_id} is not in the state; record it first.")
    return replace_snapshot(duck, snaps, row, sorted_distinct(ids), write, entry, at)


def replace_snapshot(
    duck: DuckRunner,
    snaps: SnapshotStore,
    row: cohorts.CohortRow,
    ids: Any,
    write: Callable[[], AbstractContextManager[Tx]],
    entry: auditlog.NewEntry,
    at: dt.datetime,
) -> int:
    """Point ``row``'s cohort at a snapshot of exactly ``ids`` (sorted, distinct); its count."""

    def retire_all(tx: Tx) -> None:
        tx.execute("DELETE FROM cohortops_deltas WHERE cohort_id = ?", (row.cohort_id,))
        auditlog.append(tx, [entry], at)

    empty = pa.array([], pa.string())
    return next_generation(duck, snaps, row, Deltas(ids, empty, 0), None, write, retire_all)
