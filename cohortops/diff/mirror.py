"""The warehouse mirror of a cohort's recorded members: built beside the data, then swapped in.

The local state is the system of record; the mirror is a copy of its compacted snapshot in the
warehouse (``<schema>.members_<cohort>``), so the warehouse can diff without the members
travelling. A push never edits a mirror in place: a new table is filled, checked (row count), and
renamed over the old one in one transaction together with its row in ``<schema>.cohortops_mirrors``
(snapshot name, row count, fingerprint). A fold applies an apply's changes to the current mirror
in one transaction, checked before (the recorded fingerprint) and after (the local snapshot's). A plan trusts a mirror only when that row names the
local snapshot and the table still has the recorded row count and fingerprint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from cohortops.diff.warehouse_conn import Warehouse, quote
from cohortops.diff.warehouse_sql import fingerprint_sql
from cohortops.errors import StateError

META_TABLE = "cohortops_mirrors"
FOLD_ADDED, FOLD_REMOVED = "cohortops_fold_added", "cohortops_fold_removed"
NO_SNAPSHOT = "none"


@dataclass(frozen=True)
class MirrorInfo:
    cohort_id: str
    schema: str
    table: str
    snapshot: str  # the local snapshot's file name (names carry its content hash), or "none"
    row_count: int
    fingerprint: str


def mirror_table(cohort_id: str) -> str:
    """``members_<slug>_<hash>``: readable, unique per cohort id, a plain SQL identifier."""
    slug = re.sub(r"[^a-z0-9_]+", "_", cohort_id.lower()).strip("_")[:40]
    digest = hashlib.sha256(cohort_id.encode()).hexdigest()[:8]
    return f"members_{slug}_{digest}"


def snapshot_key(snapshot: Path | None) -> str:
    return NO_SNAPSHOT if snapshot is None else Path(snapshot).name


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _meta_ddl(schema: str) -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}",
        f"CREATE TABLE IF NOT EXISTS {quote(schema)}.{META_TABLE} ("
        "cohort_id VARCHAR PRIMARY KEY, table_name VARCHAR NOT NULL, snapshot VARCHAR NOT NULL, "
        "row_count BIGINT NOT NULL, fingerprint VARCHAR NOT NULL, pushed_at VARCHAR NOT NULL)",
    ]


def read_mirror(wh: Warehouse, schema: str, cohort_id: str) -> MirrorInfo | None:
    """The mirror's recorded row, or None when there is none (nor its schema)."""
    found = wh.rows(
        "SELECT count(*) FROM information_schema.tables "
        f"WHERE table_schema = {_lit(schema)} AND table_name = {_lit(META_TABLE)}"
    )
    if not found or not found[0][0]:
        return None
    rows = wh.rows(
        f"SELECT table_name, snapshot, row_count, fingerprint FROM {quote(schema)}.{META_TABLE} "
        f"WHERE cohort_id = {_lit(cohort_id)}"
    )
    if not rows:
        return None
    table, snapshot, count, fingerprint = rows[0]
    return MirrorInfo(cohort_id, schema, str(table), str(snapshot), int(count), str(fingerprint))


def fingerprint(wh: Warehouse, schema: str, table: str) -> tuple[int, str]:
    rows = wh.rows(fingerprint_sql((schema, table), wh.dialect))
    n, text = rows[0]
    return int(n), str(text)


def snapshot_fingerprint(snapshot: Path | None) -> tuple[int, str]:
    """The row count and fingerprint a faithful mirror of ``snapshot`` has: the mirror's
    expression, run by DuckDB over the Parquet file (an engine whose ``min``/``max`` follow
    another collation disagrees, and its folds fall back to a push: never a wrong mirror)."""
    import duckdb

    con = duckdb.connect()
    try:
        if snapshot is None:
            con.execute("CREATE TABLE snapshot (id VARCHAR)")
        else:
            path = str(snapshot).replace("'", "''")
            con.execute(
                f"CREATE VIEW snapshot AS SELECT id::VARCHAR AS id FROM read_parquet('{path}')"
            )
        row = con.execute(fingerprint_sql(("main", "snapshot"), "duckdb")).fetchone()
    finally:
        con.close()
    assert row is not None  # an aggregate without GROUP BY returns one row
    return int(row[0]), str(row[1])


def push_mirror(
    wh: Warehouse, schema: str, cohort_id: str, snapshot: Path | None, expected: int
) -> MirrorInfo:
    """Build the mirror of ``snapshot`` (``expected`` ids) and swap it in atomically."""
    table = mirror_table(cohort_id)
    build = f"{table}_build"
    target = f"{quote(schema)}.{quote(build)}"
    wh.script([*_meta_ddl(schema), f"DROP TABLE IF EXISTS {target}"])
    wh.script([f"CREATE TABLE {target} (id VARCHAR NOT NULL)"])
    wh.load(schema, build, snapshot)
    wh.index(schema, build)
    count, print_ = fingerprint(wh, schema, build)
    if count != expected:
        wh.script([f"DROP TABLE IF EXISTS {target}"])
        raise StateError(
            f"Mirror of cohort {cohort_id} in {wh.label}: {count} rows arrived, "
            f"{expected} were sent; the old mirror is unchanged.",
            hint="Run `cohortops state push-mirror` again.",
        )
    info = MirrorInfo(cohort_id, schema, table, snapshot_key(snapshot), count, print_)
    wh.script(
        [
            f"DROP TABLE IF EXISTS {quote(schema)}.{quote(table)}",
            f"ALTER TABLE {target} RENAME TO {quote(table)}",
            *_record(info),
        ]
    )
    return info


def _record(info: MirrorInfo) -> list[str]:
    """The statements that make ``info`` the cohort's metadata row."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    meta = f"{quote(info.schema)}.{META_TABLE}"
    return [
        f"DELETE FROM {meta} WHERE cohort_id = {_lit(info.cohort_id)}",
        f"INSERT INTO {meta} VALUES ({_lit(info.cohort_id)}, {_lit(info.table)}, "
        f"{_lit(info.snapshot)}, {info.row_count}, {_lit(info.fingerprint)}, {_lit(now)})",
    ]


def fold_mirror(
    wh: Warehouse,
    info: MirrorInfo,
    added: pa.Array,
    removed: pa.Array,
    snapshot: Path | None,
    expected: tuple[int, str],
) -> MirrorInfo:
    """Apply acknowledged changes to the mirror ``info`` so it holds ``snapshot`` (whose
    :func:`snapshot_fingerprint` is ``expected``), in one transaction: delete
    ``added ∪ removed``, insert ``added``, check the row count and fingerprint against the
    snapshot's (a wrong replay of the same size is caught too), record them. ``added`` and ``removed`` are distinct and disjoint (a replay's
    last change per id), so each id travels once and needs no ``DISTINCT``; were they not, the
    checks below would fail the fold. Any failure rolls it all back: the metadata still names
    the old snapshot, so the next plan sees a stale mirror and rebuilds it (never a wrong one)."""
    table = f"{quote(info.schema)}.{quote(info.table)}"
    with (
        wh.ids_table(FOLD_ADDED, added),
        wh.ids_table(FOLD_REMOVED, removed),
        wh.transaction(),
    ):
        # the mirror must be the one recorded: folding into an edited table would bless it
        if fingerprint(wh, info.schema, info.table) != (info.row_count, info.fingerprint):
            raise StateError(
                f"The warehouse mirror {info.schema}.{info.table} of cohort {info.cohort_id} "
                "was changed outside cohortops; not folding the applied changes into it.",
                hint=f"Run `cohortops state push-mirror {info.cohort_id}` to rebuild it.",
            )
        for statement in (
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {quote(FOLD_ADDED)} "
            f"UNION ALL SELECT id FROM {quote(FOLD_REMOVED)})",
            f"INSERT INTO {table} SELECT id FROM {quote(FOLD_ADDED)}",
        ):
            wh.execute(statement)
        count, print_ = fingerprint(wh, info.schema, info.table)
        if (count, print_) != expected:
            differs = f"{count} rows" if count != expected[0] else "the same row count"
            raise StateError(
                f"Folding the applied changes into the mirror of cohort {info.cohort_id} gave "
                f"{differs} and fingerprint {print_}, the snapshot has {expected[0]} rows and "
                f"{expected[1]}; the mirror is left as it was.",
                hint=f"Run `cohortops state push-mirror {info.cohort_id}` to rebuild it.",
            )
        new = MirrorInfo(
            info.cohort_id, info.schema, info.table, snapshot_key(snapshot), count, print_
        )
        for statement in _record(new):
            wh.execute(statement)
    return new
