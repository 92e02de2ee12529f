"""The warehouse diff engine: the database that holds a ``sql:`` cohort computes its changes.

For a source with ``diff: warehouse``, the recorded snapshot is mirrored in the same database
(:mod:`cohortops.diff.mirror`) and one query, compiled from the ibis expression of
:mod:`cohortops.diff.warehouse_sql`, returns only the added and removed ids, the hygiene counts
and the mirror's fingerprint, as Arrow batches. Acknowledged changes recorded since the snapshot
(the deltas, small) are folded in here (:mod:`cohortops.diff.warehouse_result`).

Every other source goes to the local engine this one wraps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from cohortops.config.model import Source, SqlSource
from cohortops.diff.engine import DiffEngine
from cohortops.diff.memberdiff import MemberDiff
from cohortops.diff.mirror import MirrorInfo, push_mirror, read_mirror, snapshot_key
from cohortops.diff.warehouse_conn import Warehouse, connect, quote
from cohortops.diff.warehouse_result import Result, deltas
from cohortops.diff.warehouse_sql import (
    CODE_REASONS,
    DELTA_TABLE,
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


def snapshot_rows(snapshot: Path | None) -> int:
    if snapshot is None:
        return 0
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(snapshot).metadata.num_rows)


class WarehouseDiffEngine:
    """Routes ``diff: warehouse`` sources to their database, everything else to ``local``."""

    def __init__(
        self, local: DiffEngine | Callable[[], DiffEngine], *, rebuild: bool = True
    ) -> None:
        """``local``: the engine, or a factory called at the first local diff (a DuckDB engine
        costs ~60 MB of RSS); ``rebuild``: push a missing or outdated mirror, else refuse."""
        self._engine: DiffEngine | None = None
        self._factory: Callable[[], DiffEngine] | None = None
        if isinstance(local, DiffEngine):
            self._engine = local
        else:
            self._factory = local
        self._rebuild = rebuild
        self.bytes_received = 0  # result batches' Arrow size, for benchmarks
        self.pushed: list[MirrorInfo] = []

    @property
    def local(self) -> DiffEngine:
        if self._engine is None:
            assert self._factory is not None
            self._engine = self._factory()
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()

    def diff(self, cohort_id: str, source: Source, recorded: RecordedMembers) -> MemberDiff:
        if not isinstance(source, SqlSource) or source.diff != "warehouse":
            return self.local.diff(cohort_id, source, recorded)
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
        added, removed = deltas(recorded.delta_added, recorded.delta_removed)
        with_delta = len(added) + len(removed) > 0
        compiled = diff_sql(kind, wh.dialect, (info.schema, info.table), with_delta=with_delta)
        sql = with_source(compiled, wh.dialect, source_sql)
        result = Result()
        if with_delta:
            with wh.ids_table(DELTA_TABLE, pa.concat_arrays([added, removed])):
                result.read(wh.batches(sql))
        else:
            result.read(wh.batches(sql))
        self.bytes_received += result.nbytes
        if result.fingerprint != (info.row_count, info.fingerprint):
            found = "no rows" if result.fingerprint is None else f"{result.fingerprint[0]} rows"
            raise StateError(
                f"The warehouse mirror {info.schema}.{info.table} of cohort {cohort_id} was "
                f"changed outside cohortops ({found}, fingerprint differs from the "
                f"{info.row_count} rows pushed); refusing to plan against it.",
                hint=f"Run `cohortops state push-mirror {cohort_id}` to rebuild it.",
            )
        adds, removes, recorded_count = result.fold(added, removed, info.row_count)
        skipped = result.skipped()
        return MemberDiff(
            cohort_id=cohort_id,
            to_add=adds,
            to_remove=removes,
            desired_count=result.distinct,
            recorded_count=recorded_count,
            issues=self._issues(wh, kind, source_sql, source) if skipped else (),
            skipped=skipped,
            duplicates=result.duplicates,
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
