"""`cohortops export members|runs|audit`: what the state knows, as files or warehouse tables.

- :func:`export_table` reads one kind from the store as an Arrow table (members: one row per
  cohort–member pair; runs and audit entries: optionally only those after a run id / seq).
- :func:`write_file` writes it as CSV, Parquet or JSON lines, to a file or a binary stream.
- :func:`load_sql` loads it into a PostgreSQL (``postgresql://``) or DuckDB (``duckdb:///path``)
  table, created when missing. Runs and audit entries load incrementally: only rows newer than
  the table's largest ``run_id`` / ``seq``. Members replace the table's rows (current members).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cohortops.errors import CohortopsError
from cohortops.state import Store

Kind = Literal["members", "runs", "audit"]
Format = Literal["csv", "parquet", "jsonl"]
KEYS: dict[str, str] = {"runs": "run_id", "audit": "seq"}
TS = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "members": pa.schema([("cohort_id", pa.string()), ("member_id", pa.string())]),
    "runs": pa.schema(
        [
            ("run_id", pa.int64()),
            ("cohort_id", pa.string()),
            ("trigger", pa.string()),
            ("started_at", TS),
            ("ended_at", TS),
            ("result", pa.string()),
            ("added", pa.int64()),
            ("removed", pa.int64()),
            ("failed", pa.int64()),
            ("total_members", pa.int64()),
            ("apply_id", pa.string()),
        ]
    ),
    "audit": pa.schema(
        [
            ("seq", pa.int64()),
            ("at", TS),
            ("kind", pa.string()),
            ("actor", pa.string()),
            ("cohort_id", pa.string()),
            ("data", pa.string()),
            ("hash", pa.string()),
        ]
    ),
}


class ExportError(CohortopsError):
    """An export could not be written or loaded."""


def export_table(store: Store, kind: Kind, *, after: int | None = None) -> pa.Table:
    schema = SCHEMAS[kind]
    if kind == "members":
        parts = []
        for cohort_id in sorted(store.snapshot().cohorts):
            ids = pa.array(store.members_array(cohort_id), pa.string())
            cohort = pa.array([cohort_id] * len(ids), pa.string())
            parts.append(pa.Table.from_arrays([cohort, ids], schema=schema))
        return pa.concat_tables(parts) if parts else schema.empty_table()
    if kind == "runs":
        runs = [r for r in reversed(store.runs()) if after is None or (r.run_id or 0) > after]
        rows: list[dict[str, Any]] = [
            {
                "run_id": r.run_id,
                "cohort_id": r.cohort_id,
                "trigger": r.trigger,
                "started_at": r.started_at,
                "ended_at": r.ended_at,
                "result": r.result,
                "added": r.added,
                "removed": r.removed,
                "failed": r.failed,
                "total_members": r.total_members,
                "apply_id": r.apply_id,
            }
            for r in runs
        ]
        return pa.Table.from_pylist(rows, schema=schema)
    since = None if after is None else after + 1
    rows = [
        {
            "seq": e.seq,
            "at": e.at,
            "kind": e.kind,
            "actor": e.actor,
            "cohort_id": e.cohort_id,
            "data": json.dumps(e.data, sort_keys=True, default=str),
            "hash": e.hash,
        }
        for e in store.audit_entries(since=since)
    ]
    return pa.Table.from_pylist(rows, schema=schema)


def write_file(table: pa.Table, fmt: Format, sink: Path | IO[bytes]) -> None:
    if fmt == "parquet":
        pq.write_table(table, sink)
    elif fmt == "csv":
        pacsv.write_csv(table, sink)
    else:
        handle = sink.open("wb") if isinstance(sink, Path) else sink
        try:
            for row in table.to_pylist():
                handle.write(json.dumps(row, default=_json_default).encode() + b"\n")
        finally:
            if isinstance(sink, Path):
                handle.close()


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def load_sql(store: Store, kind: Kind, url: str, table_name: str) -> int:
    """Load ``kind`` into ``table_name`` at ``url``; returns the rows written."""
    from cohortops.operations import export_sql

    target = export_sql.target(url)
    try:
        after = target.max_value(table_name, KEYS[kind]) if kind in KEYS else None
        table = export_table(store, kind, after=after)
        return target.write(table_name, table, replace=kind == "members")
    finally:
        target.close()
