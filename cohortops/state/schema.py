"""The state's tables, written once for both backends with the few type names filled in.

Every table carries the ``cohortops_`` prefix so a shared PostgreSQL schema stays readable.
Timestamps are text (see :mod:`cohortops.state.codec`) and booleans are integers, so rows read
back identically from SQLite and PostgreSQL and the audit hashes never depend on the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 3

# Statements that bring a state of version N-1 to N; new states get the tables as written below
# (every CREATE ... IF NOT EXISTS runs on migration too, so new tables need no entry here).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE cohortops_runs ADD COLUMN error TEXT",),
    3: (),  # cohortops_index_segments, cohortops_index_blocks (the member index)
}


@dataclass(frozen=True)
class Types:
    int: str  # a 64-bit integer
    blob: str
    auto_id: str  # an integer primary key the database assigns in insertion order
    without_rowid: str  # table suffix for clustered primary keys (SQLite only)


SQLITE_TYPES = Types(
    int="INTEGER",
    blob="BLOB",
    auto_id="INTEGER PRIMARY KEY AUTOINCREMENT",  # never reuse a seq: caches key on it
    without_rowid=" WITHOUT ROWID",
)
POSTGRES_TYPES = Types(
    int="BIGINT",
    blob="BYTEA",
    auto_id="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    without_rowid="",
)

_TABLES = """
CREATE TABLE IF NOT EXISTS cohortops_meta (
    id {int} PRIMARY KEY CHECK (id = 1),
    schema_version {int} NOT NULL,
    lineage TEXT NOT NULL,
    serial {int} NOT NULL,
    created_at TEXT NOT NULL,
    lock_epoch {int} NOT NULL DEFAULT 0,
    audit_head_seq {int} NOT NULL DEFAULT 0,
    audit_head_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cohortops_lock (
    id {int} PRIMARY KEY CHECK (id = 1),
    lock_id TEXT NOT NULL,
    who TEXT NOT NULL,
    operation TEXT NOT NULL,
    created_at TEXT NOT NULL,
    pid {int},
    host TEXT
);
CREATE TABLE IF NOT EXISTS cohortops_cohorts (
    cohort_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_apply_at TEXT,
    remote_created {int} NOT NULL DEFAULT 0,
    remote_name TEXT,
    snap_generation {int} NOT NULL DEFAULT 0,
    snap_ref TEXT,
    snap_hash TEXT,
    snap_size {int} NOT NULL DEFAULT 0,
    snap_count {int} NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cohortops_deltas (
    seq {auto_id},
    cohort_id TEXT NOT NULL,
    op {int} NOT NULL,
    n {int} NOT NULL,
    ids {blob} NOT NULL
);
CREATE INDEX IF NOT EXISTS cohortops_deltas_cohort ON cohortops_deltas (cohort_id, seq);
CREATE TABLE IF NOT EXISTS cohortops_snapshot_chunks (
    cohort_id TEXT NOT NULL,
    generation {int} NOT NULL,
    chunk_no {int} NOT NULL,
    data {blob} NOT NULL,
    PRIMARY KEY (cohort_id, generation, chunk_no)
);
CREATE TABLE IF NOT EXISTS cohortops_audit (
    seq {int} PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    cohort_id TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cohortops_audit_cohort ON cohortops_audit (cohort_id, seq);
CREATE INDEX IF NOT EXISTS cohortops_audit_kind ON cohortops_audit (cohort_id, kind, seq);
CREATE TABLE IF NOT EXISTS cohortops_index_segments (
    lo {int} PRIMARY KEY,
    hi {int} NOT NULL,
    hi_hash TEXT NOT NULL,
    blocks {int} NOT NULL,
    n {int} NOT NULL
);
CREATE TABLE IF NOT EXISTS cohortops_index_blocks (
    lo {int} NOT NULL,
    first_id {blob} NOT NULL,
    digest TEXT NOT NULL,
    data {blob} NOT NULL,
    PRIMARY KEY (lo, first_id)
);
CREATE TABLE IF NOT EXISTS cohortops_applies (
    apply_id TEXT PRIMARY KEY,
    plan_digest TEXT NOT NULL,
    summary TEXT NOT NULL,
    who TEXT NOT NULL,
    began_at TEXT NOT NULL,
    ended_at TEXT,
    result TEXT
);
CREATE TABLE IF NOT EXISTS cohortops_runs (
    run_id {auto_id},
    cohort_id TEXT NOT NULL,
    run_trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    result TEXT NOT NULL,
    added {int} NOT NULL,
    removed {int} NOT NULL,
    failed {int} NOT NULL,
    total_members {int} NOT NULL,
    apply_id TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS cohortops_runs_cohort ON cohortops_runs (cohort_id, run_id);
CREATE TABLE IF NOT EXISTS cohortops_cancels (
    apply_id TEXT PRIMARY KEY,
    who TEXT NOT NULL,
    requested_at TEXT NOT NULL
)
"""


def statements(types: Types) -> list[str]:
    """The DDL, one statement per item, for ``types``' dialect."""
    text = _TABLES.format(
        int=types.int,
        blob=types.blob,
        auto_id=types.auto_id,
        without_rowid=types.without_rowid,
    )
    return [part.strip() for part in text.split(";") if part.strip()]
