"""Turning what the applier hands over into durable rows: group commits and compaction.

Both run under the state lock. A group commit writes the member changes and their audit entries
in one transaction, so the audit never disagrees with the state; a compaction folds a cohort's
deltas into a new snapshot and retires the old one only after the pointer moved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from cohortops.state import auditlog, cohorts
from cohortops.state.codec import encode_ids
from cohortops.state.members import ADD, REMOVE, Deltas, DuckRunner, write_compacted
from cohortops.state.snapshot import LockInfo
from cohortops.state.snapstore import SnapInfo, SnapshotStore, file_digest
from cohortops.state.sqlcore import Db, Tx
from cohortops.state.writer import PendingBatch

OPS: dict[str, int] = {"add": ADD, "remove": REMOVE}


def runs_per_cohort(group: Sequence[PendingBatch]) -> list[tuple[str, int, list[str]]]:
    """Fold a cohort's consecutive same-op batches into one delta blob (order kept per cohort)."""
    runs: list[tuple[str, int, list[str]]] = []
    last: dict[str, tuple[str, int, list[str]]] = {}
    for batch in group:
        if not batch.ids:
            continue
        op = OPS[batch.op]
        current = last.get(batch.cohort_id)
        if current is not None and current[1] == op:
            current[2].extend(batch.ids)
        else:
            current = (batch.cohort_id, op, list(batch.ids))
            runs.append(current)
            last[batch.cohort_id] = current
    return runs


def commit_group(
    db: Db, held: LockInfo, group: Sequence[PendingBatch], clock: Callable[[], dt.datetime]
) -> None:
    """One transaction: every batch's delta rows, its audit entry, one serial bump."""
    blobs = [(cohort, op, len(ids), encode_ids(ids)) for cohort, op, ids in runs_per_cohort(group)]
    entries = [
        auditlog.NewEntry(
            "batch",
            held.who,
            batch.cohort_id,
            {**batch.audit, "op": batch.op, "members": list(batch.ids)},
        )
        for batch in group
        if batch.audit is not None
    ]
    with db.write(fence=held.id, doing="recording member batches") as tx:
        for blob in blobs:
            tx.execute(
                "INSERT INTO cohortops_deltas (cohort_id, op, n, ids) VALUES (?, ?, ?, ?)", blob
            )
        auditlog.append(tx, entries, clock())


def fold(
    duck: DuckRunner,
    snaps: SnapshotStore,
    row: cohorts.CohortRow,
    deltas: Deltas,
    old_path: Path | None,
    write: Callable[[], AbstractContextManager[Tx]],
) -> None:
    """Write ``snapshot ∪ added − removed`` as the next generation and point the cohort at it."""

    def retire_folded(tx: Tx) -> None:
        # Only what was folded in: rows a later commit added must stay deltas.
        tx.execute(
            "DELETE FROM cohortops_deltas WHERE cohort_id = ? AND seq <= ?",
            (row.cohort_id, deltas.max_seq),
        )

    next_generation(duck, snaps, row, deltas, old_path, write, retire_folded)


def next_generation(
    duck: DuckRunner,
    snaps: SnapshotStore,
    row: cohorts.CohortRow,
    deltas: Deltas,
    old_path: Path | None,
    write: Callable[[], AbstractContextManager[Tx]],
    in_tx: Callable[[Tx], None],
) -> int:
    """Write ``old_path ∪ added − removed`` as ``row``'s next snapshot generation and point the
    cohort at it; ``in_tx`` runs in that same transaction. Returns the member count."""
    cohort_id = row.cohort_id
    generation = row.snap.generation + 1
    staged = snaps.staging_path(cohort_id, generation)
    ref: str | None = None
    try:
        count = write_compacted(duck, old_path, deltas, staged)
        staged.chmod(0o600)  # DuckDB replaces the file: member ids stay owner-only
        sha, size = file_digest(staged)
        with write() as tx:
            if count:
                ref = snaps.publish(tx, cohort_id, generation, staged, sha)
            new = SnapInfo(generation, ref, sha if ref else None, size if ref else 0, count)
            cohorts.set_snapshot(tx, cohort_id, new)
            in_tx(tx)
            snaps.drop(tx, cohort_id, row.snap)
    except BaseException:
        snaps.unpublish(staged, ref)
        raise
    if ref is not None:
        snaps.committed(staged, ref)
    else:
        staged.unlink(missing_ok=True)
    snaps.discard(row.snap)
    return count
