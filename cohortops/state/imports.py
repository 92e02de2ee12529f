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
import pyarrow.compute as pc

from cohortops.errors import StateError
from cohortops.state import auditlog, cohorts
from cohortops.state.members import Deltas, DuckRunner, write_compacted
from cohortops.state.snapstore import SnapInfo, SnapshotStore, file_digest
from cohortops.state.sqlcore import Db, Tx


def sorted_unique(ids: Any) -> Any:
    """A sorted, distinct, null-free pyarrow string array from an array or a sequence."""
    array = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(ids, pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = pc.drop_null(array.cast(pa.string()))
    if len(array) < 2:
        return array
    # Exports read by cohortops come sorted and distinct already: check (cheap), don't redo.
    if not pc.any(pc.greater_equal(array.slice(0, len(array) - 1), array.slice(1))).as_py():
        return array
    return pc.unique(array).sort()


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
    return replace_snapshot(duck, snaps, row, sorted_unique(ids), write, entry, at)


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
    cohort_id = row.cohort_id
    generation = row.snap.generation + 1
    staged = snaps.staging_path(cohort_id, generation)
    empty = pa.array([], pa.string())
    ref: str | None = None
    try:
        count = write_compacted(duck, None, Deltas(ids, empty, 0), staged)
        sha, size = file_digest(staged)
        with write() as tx:
            if count:
                ref = snaps.publish(tx, cohort_id, generation, staged, sha)
            new = SnapInfo(generation, ref, sha if ref else None, size if ref else 0, count)
            cohorts.set_snapshot(tx, cohort_id, new)
            tx.execute("DELETE FROM cohortops_deltas WHERE cohort_id = ?", (cohort_id,))
            snaps.drop(tx, cohort_id, row.snap)
            auditlog.append(tx, [entry], at)
    except BaseException:
        snaps.unpublish(staged, ref)
        raise
    if ref is not None:
        snaps.committed(staged, ref)
    else:
        staged.unlink(missing_ok=True)
    snaps.discard(row.snap)
    return count
