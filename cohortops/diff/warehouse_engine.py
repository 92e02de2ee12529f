"""The warehouse diff engine: the database that holds a ``sql:`` cohort computes its changes.

For a source with ``diff: warehouse``, the recorded snapshot is mirrored in the same database
(:mod:`cohortops.diff.mirror`) and one query, compiled from the ibis expression of
:mod:`cohortops.diff.warehouse_sql`, returns only the added and removed ids, the hygiene counts
and the mirror's fingerprint, as Arrow batches. Acknowledged changes recorded since the snapshot
(the deltas, small) are folded in here:

    adds    = (X - A - D) ∪ (desired ∩ D)        X = desired - mirror, Y = mirror - desired
    removes = (Y - A - D) ∪ (A - desired)        A, D = delta added / removed

Every other source goes to the local engine this one wraps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cohortops.config.model import Source, SqlSource
from cohortops.diff.engine import DiffEngine
from cohortops.diff.memberdiff import MemberDiff
from cohortops.diff.mirror import MirrorInfo, push_mirror, read_mirror, snapshot_key
from cohortops.diff.warehouse_conn import Warehouse, connect, quote
from cohortops.diff.warehouse_sql import (
    ADD,
    CODE_REASONS,
    DELTA_TABLE,
    DISTINCT,
    FINGERPRINT,
    IN_DELTA,
    IN_MIRROR,
    REMOVE,
    STATS,
    diff_sql,
    issues_sql,
    with_source,
)
from cohortops.errors import StateError
from cohortops.sources.hygiene import MESSAGES, issue_where
from cohortops.sources.issues import SourceIssue
from cohortops.state.snapshot import RecordedMembers


def uses_warehouse(source: Source) -> bool:
    return isinstance(source, SqlSource) and source.diff == "warehouse"


def _strings(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.string())
    return values.cast(pa.string()).drop_null()


def _sorted(values: pa.Array) -> pa.Array:
    return values.take(pc.sort_indices(values)) if len(values) > 1 else values


def snapshot_rows(snapshot: Path | None) -> int:
    if snapshot is None:
        return 0
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(snapshot).metadata.num_rows)


class WarehouseDiffEngine:
    """Routes ``diff: warehouse`` sources to their database, everything else to ``local``."""

    def __init__(self, local: DiffEngine, *, rebuild: bool = True) -> None:
        """``rebuild``: push a missing or outdated mirror; otherwise refuse to plan."""
        self._local = local
        self._rebuild = rebuild
        self.bytes_received = 0  # result batches' Arrow size, for benchmarks
        self.pushed: list[MirrorInfo] = []

    def close(self) -> None:
        self._local.close()

    def diff(self, cohort_id: str, source: Source, recorded: RecordedMembers) -> MemberDiff:
        if not isinstance(source, SqlSource) or source.diff != "warehouse":
            return self._local.diff(cohort_id, source, recorded)
        wh = connect(source, cohort_id)
        try:
            return self._diff(wh, cohort_id, source, recorded)
        finally:
            wh.close()

    def mirror(
        self, wh: Warehouse, cohort_id: str, source: SqlSource, recorded: RecordedMembers
    ) -> MirrorInfo:
        """The cohort's current mirror: pushed again when missing or behind the snapshot."""
        info = read_mirror(wh, source.mirror_schema, cohort_id)
        if info is not None and info.snapshot == snapshot_key(recorded.snapshot):
            return info
        if not self._rebuild:
            state = "missing" if info is None else f"built from {info.snapshot}"
            raise StateError(
                f"The warehouse mirror of cohort {cohort_id} is {state}, not the recorded "
                f"snapshot {snapshot_key(recorded.snapshot)}.",
                hint=f"Run `cohortops state push-mirror {cohort_id}`.",
            )
        expected = snapshot_rows(recorded.snapshot)
        info = push_mirror(wh, source.mirror_schema, cohort_id, recorded.snapshot, expected)
        self.pushed.append(info)
        return info

    def _diff(
        self, wh: Warehouse, cohort_id: str, source: SqlSource, recorded: RecordedMembers
    ) -> MemberDiff:
        name, kind = wh.column_kind(source.query, source.column)
        source_sql = f"SELECT q.{quote(name)} AS v FROM ({source.query.strip().rstrip(';')}) q"
        info = self.mirror(wh, cohort_id, source, recorded)
        added = pc.unique(_strings(recorded.delta_added))
        removed = pc.unique(_strings(recorded.delta_removed))
        added = added.filter(pc.invert(pc.is_in(added, removed)))  # a removal wins, as stored
        with_delta = len(added) + len(removed) > 0
        mirror = (info.schema, info.table)
        compiled = diff_sql(kind, wh.dialect, mirror, with_delta=with_delta)
        sql = with_source(compiled, wh.dialect, source_sql)
        parts: dict[int, list[pa.Array]] = {ADD: [], REMOVE: [], IN_DELTA: [], IN_MIRROR: []}
        counts: dict[int, int] = {}
        printed: tuple[int, str] | None = None
        delta_ids = pa.concat_arrays([added, removed])

        def consume() -> None:
            nonlocal printed
            for batch in wh.batches(sql):
                self.bytes_received += batch.nbytes
                kinds = batch.column(0)
                for k in parts:
                    chosen = batch.column(1).filter(pc.equal(kinds, k))
                    if len(chosen):
                        parts[k].append(chosen.cast(pa.string()))
                rest = batch.filter(pc.greater_equal(kinds, DISTINCT)).to_pylist()
                for row in rest:
                    if row["kind"] == FINGERPRINT:
                        printed = (int(row["n"]), str(row["id"]))
                    else:
                        counts[int(row["kind"])] = int(row["n"])

        if with_delta:
            with wh.ids_table(DELTA_TABLE, delta_ids):
                consume()
        else:
            consume()
        if printed != (info.row_count, info.fingerprint):
            found = "no rows" if printed is None else f"{printed[0]} rows"
            raise StateError(
                f"The warehouse mirror {info.schema}.{info.table} of cohort {cohort_id} was "
                f"changed outside cohortops ({found}, fingerprint differs from the "
                f"{info.row_count} rows pushed); refusing to plan against it.",
                hint=f"Run `cohortops state push-mirror {cohort_id}` to rebuild it.",
            )
        x, y, in_delta, in_mirror = (_concat(parts[k]) for k in (ADD, REMOVE, IN_DELTA, IN_MIRROR))
        adds = pa.concat_arrays(
            [
                x.filter(pc.invert(pc.is_in(x, delta_ids))),
                removed.filter(pc.is_in(removed, in_delta)),
            ]
        )
        removes = pa.concat_arrays(
            [
                y.filter(pc.invert(pc.is_in(y, delta_ids))),
                added.filter(pc.invert(pc.is_in(added, in_delta))),
            ]
        )
        skipped = {CODE_REASONS[k - STATS]: n for k, n in counts.items() if k > STATS and n > 0}
        distinct = counts.get(DISTINCT, 0)
        issues = self._issues(wh, kind, source_sql, source) if skipped else ()
        return MemberDiff(
            cohort_id=cohort_id,
            to_add=_sorted(adds),
            to_remove=_sorted(removes),
            desired_count=distinct,
            # |R| = |S| - |(A ∪ D) ∩ S| + |A|
            recorded_count=info.row_count - len(in_mirror) + len(added),
            issues=issues,
            skipped=dict(sorted(skipped.items())),
            duplicates=counts.get(STATS, 0) - distinct,
        )

    def _issues(
        self, wh: Warehouse, kind: str, source_sql: str, source: SqlSource
    ) -> tuple[SourceIssue, ...]:
        sql = with_source(issues_sql(kind, wh.dialect), wh.dialect, source_sql)
        rows = wh.rows(f"SELECT pos, reason FROM ({sql}) AS issues ORDER BY pos")
        return tuple(
            SourceIssue(where=issue_where(source, int(pos)), message=MESSAGES[CODE_REASONS[r]])
            for pos, r in rows
        )


def _concat(arrays: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())
