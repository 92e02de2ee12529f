"""The DuckDB diff engine: one memory-limited FULL OUTER JOIN of desired vs recorded ids.

Files are read natively by DuckDB (CSV as all-VARCHAR so ``00123`` keeps its zeros, JSONL,
Parquet) and identifier hygiene runs in SQL; SQL sources arrive as Arrow batches. Only the small
results (adds, removes, per-reason counts) come back to Python, sorted; the join output itself is
never sorted. Rejected rows are located by a second, positioned scan that runs only when some
row was rejected.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cohortops.config.model import FileSource, Source
from cohortops.errors import PlanError, SourceError, StateError
from cohortops.plan.memberdiff import MemberDiff, SourceIssue
from cohortops.sources.duckdb_scan import DuckScan, classified_sql, file_scan, lit, table_scan
from cohortops.sources.hygiene import BLANK, MAX_ISSUES, MESSAGES, issue_where, one_line
from cohortops.sources.sql import BATCH_SCHEMA, sql_batches
from cohortops.state.records import RecordedMembers

_SERIAL_CSV_HINT = "quoted new lines"  # DuckDB's parallel CSV reader refuses these with padding


def _as_strings(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.string())
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return values


def _main_sql(scan: DuckScan, recorded_sql: str) -> str:
    # Desired rows are joined as they come, duplicates included: deduplicating them first would
    # cost a second 10M-row hash table. Duplicates only multiply `keep`/`add` rows, which the
    # final (small-result) aggregation folds back; `n` counts them.
    return f"""
WITH c AS (
  SELECT reason, CASE WHEN reason IS NULL THEN id END AS id
  FROM ({classified_sql(scan.rows_sql, positioned=False)})
  WHERE reason IS DISTINCT FROM '{BLANK}'
),
rec AS ({recorded_sql})
SELECT kind, id, count(*)::BIGINT AS n
FROM (
  SELECT
    CASE WHEN c.reason IS NOT NULL THEN c.reason
         WHEN c.id IS NULL THEN 'remove' WHEN rec.id IS NULL THEN 'add' ELSE 'keep' END AS kind,
    CASE WHEN c.reason IS NULL AND (c.id IS NULL OR rec.id IS NULL)
         THEN coalesce(c.id, rec.id) END AS id
  FROM c FULL OUTER JOIN rec ON c.id = rec.id
)
GROUP BY kind, id
ORDER BY kind, id"""


def _issues_sql(scan: DuckScan) -> str:
    # Rejected rows, and multi-line records (their line breaks shift later line numbers), up to
    # the MAX_ISSUES-th rejected row.
    return f"""
SELECT pos, reason, nl FROM (
  SELECT pos, reason, nl,
    count(*) FILTER (WHERE bad) OVER (
      ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS bad_before
  FROM (
    SELECT pos, reason, nl, reason IS NOT NULL AND reason <> '{BLANK}' AS bad
    FROM ({classified_sql(scan.positioned_sql, positioned=True)})
  )
  WHERE bad OR nl > 0
)
WHERE coalesce(bad_before, 0) < {MAX_ISSUES}
ORDER BY pos"""


class DuckDBDiffEngine:
    """One DuckDB connection, reused for every cohort of a plan. Not thread-safe."""

    def __init__(
        self,
        *,
        memory_limit: str = "256MB",
        temp_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self._own_temp = temp_dir is None
        self._temp = (
            Path(tempfile.mkdtemp(prefix="cohortops-duckdb-")) if temp_dir is None else temp_dir
        )
        config: dict[str, Any] = {
            "memory_limit": memory_limit,
            "temp_directory": str(self._temp),
            "preserve_insertion_order": False,
            "autoinstall_known_extensions": False,
        }
        if threads is not None:
            config["threads"] = threads
        self._con: duckdb.DuckDBPyConnection | None = None
        try:
            self._con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            self._remove_temp()
            raise PlanError(
                f"Cannot start the DuckDB diff engine: {one_line(str(exc))}.",
                hint="Check the DuckDB memory limit, thread count and temporary directory.",
            ) from None
        self._names = 0

    def __enter__(self) -> DuckDBDiffEngine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            con.close()
        self._remove_temp()

    def _remove_temp(self) -> None:
        if self._own_temp:
            shutil.rmtree(self._temp, ignore_errors=True)

    def _name(self, kind: str) -> str:
        self._names += 1
        return f"cohortops_{kind}_{self._names}"

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise PlanError("The DuckDB diff engine is closed.", hint="Create a new engine.")
        return self._con

    def diff(self, cohort_id: str, source: Source, recorded: RecordedMembers) -> MemberDiff:
        self.con  # noqa: B018 -- fail fast, before reading anything, when closed
        with self._recorded(recorded) as recorded_sql, self._scan(cohort_id, source) as scan:
            build = functools.partial(_main_sql, recorded_sql=recorded_sql)
            table = self._query(cohort_id, source, scan, build, recorded.snapshot)
            rows = self._rows(table)
            skipped = {k: rows[k] for k in sorted(rows) if k not in ("add", "remove", "keep")}
            issues = self._locate(cohort_id, source, scan) if skipped else ()
            recorded_count = self._count(cohort_id, recorded_sql, recorded.snapshot)
        adds, removes = self._ids(table, "add"), self._ids(table, "remove")
        desired = recorded_count - len(removes) + len(adds)
        return MemberDiff(
            cohort_id=cohort_id,
            to_add=adds,
            to_remove=removes,
            desired_count=desired,
            recorded_count=recorded_count,
            issues=issues,
            skipped=skipped,
            duplicates=rows.get("keep", 0) + rows.get("add", 0) - desired,
        )

    def _count(self, cohort_id: str, recorded_sql: str, snapshot: Path | None) -> int:
        try:
            rows = self.con.sql(f"SELECT count(*) FROM ({recorded_sql})").fetchall()
        except duckdb.Error as exc:
            raise StateError(
                f"Recorded members of cohort {cohort_id} are unreadable ({snapshot}): "
                f"{one_line(str(exc))}.",
                hint="Restore the state directory or run `cohortops state forget`.",
            ) from None
        return int(rows[0][0]) if rows else 0

    def _query(
        self,
        cohort_id: str,
        source: Source,
        scan: DuckScan,
        build: Callable[[DuckScan], str],
        snapshot: Path | None = None,
    ) -> pa.Table:
        try:
            return self.con.sql(build(scan)).to_arrow_table()
        except duckdb.OutOfMemoryException as exc:
            raise PlanError(
                f"Cohort {cohort_id}: the diff ran out of memory ({one_line(str(exc))}).",
                hint="Raise the DuckDB memory limit or give it a temporary directory with space.",
            ) from None
        except duckdb.Error as exc:
            message = str(exc)
            if (
                _SERIAL_CSV_HINT in message
                and isinstance(source, FileSource)
                and source.format == "csv"
            ):
                serial = file_scan(source, cohort_id, parallel=False)
                return self._query(cohort_id, source, serial, build, snapshot)
            if snapshot is not None and str(snapshot) in message:
                raise StateError(
                    f"Recorded members of cohort {cohort_id} are unreadable ({snapshot}): "
                    f"{one_line(message)}.",
                    hint="Restore the state directory or run `cohortops state forget`.",
                ) from None
            what = (
                f"{source.format} source {source.path}"
                if isinstance(source, FileSource)
                else f"source {source.describe()}"
            )
            raise SourceError(
                f"Cohort {cohort_id}: cannot read {what}: {one_line(message)}.",
                hint="Fix the source or the cohort's source settings.",
            ) from None

    @staticmethod
    def _rows(table: pa.Table) -> dict[str, int]:
        """Source rows per kind (``add``, ``keep``, a reason); removes count recorded ids."""
        grouped = table.group_by("kind").aggregate([("n", "sum")])
        kinds = grouped.column("kind").to_pylist()
        sums = grouped.column("n_sum").to_pylist()
        return {kind: int(n or 0) for kind, n in zip(kinds, sums, strict=True)}

    @staticmethod
    def _ids(table: pa.Table, kind: str) -> pa.Array:
        chosen = table.filter(pc.equal(table.column("kind"), kind)).column("id")
        return _as_strings(chosen)

    @contextmanager
    def _recorded(self, recorded: RecordedMembers) -> Iterator[str]:
        """SQL for ``snapshot ∪ delta_added − delta_removed`` (distinct if the snapshot is)."""
        if recorded.snapshot is not None and not Path(recorded.snapshot).is_file():
            raise StateError(
                f"Recorded members of cohort {recorded.cohort_id} are missing "
                f"({recorded.snapshot} does not exist).",
                hint="Restore the state directory or run `cohortops state forget`.",
            )
        snapshot = (
            f"SELECT id::VARCHAR AS id FROM read_parquet({lit(str(recorded.snapshot))})"
            if recorded.snapshot is not None
            else "SELECT NULL::VARCHAR AS id WHERE false"
        )
        added = _as_strings(recorded.delta_added)
        removed = _as_strings(recorded.delta_removed)
        if len(added) == 0 and len(removed) == 0:
            yield snapshot
            return
        names = self._name("added"), self._name("removed")
        self.con.register(names[0], pa.table({"id": added}))
        self.con.register(names[1], pa.table({"id": removed}))
        try:
            yield f"""
SELECT s.id FROM ({snapshot}) s
  ANTI JOIN (SELECT id FROM {names[0]} UNION ALL SELECT id FROM {names[1]}) d ON s.id = d.id
UNION ALL
SELECT DISTINCT a.id FROM {names[0]} a ANTI JOIN {names[1]} r ON a.id = r.id
WHERE a.id IS NOT NULL"""
        finally:
            for name in names:
                self.con.unregister(name)

    @contextmanager
    def _scan(self, cohort_id: str, source: Source) -> Iterator[DuckScan]:
        if isinstance(source, FileSource):
            yield file_scan(source, cohort_id)
            return
        # A query runs once: its rows land in a (spillable) temp table that both the diff and,
        # if needed, the positioned scan read.
        table, view = self._name("sql"), self._name("batch")
        self.con.sql(f"CREATE TEMP TABLE {table} (pos BIGINT, raw VARCHAR, flag VARCHAR)")
        try:
            for batch in sql_batches(source, cohort_id):
                self.con.register(view, pa.Table.from_batches([batch], schema=BATCH_SCHEMA))
                try:
                    self.con.sql(f"INSERT INTO {table} SELECT * FROM {view}")
                finally:
                    self.con.unregister(view)
            yield table_scan(table)
        finally:
            self.con.sql(f"DROP TABLE IF EXISTS {table}")

    def _locate(self, cohort_id: str, source: Source, scan: DuckScan) -> tuple[SourceIssue, ...]:
        """The first rejected rows with their line (CSV, JSONL) or row (Parquet, SQL)."""
        if scan.ordered:
            self.con.sql("SET preserve_insertion_order = true")
        try:
            table = self._query(cohort_id, source, scan, _issues_sql)
        finally:
            if scan.ordered:
                self.con.sql("SET preserve_insertion_order = false")
        issues: list[SourceIssue] = []
        breaks_before = 0
        for batch in table.to_batches():
            columns = batch.to_pydict()
            for pos, reason, nl in zip(
                columns["pos"], columns["reason"], columns["nl"], strict=True
            ):
                if reason is not None and reason != BLANK:
                    where = issue_where(source, scan.pos_offset + pos + breaks_before)
                    issues.append(SourceIssue(where=where, message=MESSAGES[reason]))
                    if len(issues) >= MAX_ISSUES:
                        return tuple(issues)
                breaks_before += nl or 0
        return tuple(issues)
