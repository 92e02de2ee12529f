"""The SQL of the DuckDB diff: packed 128-bit join keys and the join, string-join and sample queries.

Ids of 1 to 15 bytes (not starting with a NUL byte) read as one big-endian 128-bit integer: a
one-to-one mapping, so the join never collides; longer ids join as strings.
"""

from __future__ import annotations

from typing import Literal

from cohortops.sources.duckdb_scan import DuckScan, desired_sql

JoinKey = Literal["auto", "packed", "string"]
# Kinds of result rows; a rejected row's kind is its reason code (>= REASON_BASE).
KEEP, ADD, REMOVE, LONG_DESIRED, LONG_RECORDED = 0, 1, 2, 3, 4
FLAG = 2**127  # desired keys from here up match nothing: rejected and long rows
SAMPLE = 2048  # values per side that choose the join key
LONG_SHARE = 0.01  # more long values than this in the sample: one string join instead


def packable(value: str) -> str:
    """SQL: ``value`` maps one-to-one onto :func:`packed` (1-15 bytes, no leading NUL)."""
    return f"(strlen({value}) BETWEEN 1 AND 15 AND {value} >= chr(1))"


def packed(value: str) -> str:
    """SQL: the bytes of a packable ``value`` as one big-endian integer (< 2**120)."""
    return f"encode({value})::BIT::UHUGEINT"


def unpacked(key: str) -> str:
    """SQL: the inverse of :func:`packed`; the leading zero bytes are the unused width."""
    return f"ltrim(decode({key}::BIT::BLOB), chr(0))"


def ordered(grouped: str) -> str:
    return f"SELECT kind, id, n FROM ({grouped}) ORDER BY kind, id"


def packed_sql(scan: DuckScan, recorded_sql: str) -> str:
    # Only keys cross the join. Rejected and long desired rows carry their kind in a key that
    # matches nothing; recorded long ids have a NULL key; the few added and removed keys are
    # unpacked after grouping. Every term is typed: UHUGEINT + INTEGER would be a DOUBLE.
    flag = f"'{FLAG}'::UHUGEINT"
    return ordered(f"""
WITH d AS (
  SELECT CASE WHEN code IS NOT NULL THEN {flag} + code::UHUGEINT
              WHEN {packable("id")} THEN {packed("id")}
              ELSE {flag} + {LONG_DESIRED}::UHUGEINT END AS k
  FROM ({desired_sql(scan)})
),
r AS (SELECT CASE WHEN {packable("id")} THEN {packed("id")} END AS k FROM ({recorded_sql}))
SELECT kind, CASE WHEN k IS NOT NULL THEN {unpacked("k")} END AS id, n FROM (
  SELECT kind, k, count(*)::BIGINT AS n FROM (
    SELECT
      CASE WHEN d.k >= {flag} THEN (d.k - {flag})::INTEGER
           WHEN d.k IS NULL THEN CASE WHEN r.k IS NULL THEN {LONG_RECORDED} ELSE {REMOVE} END
           WHEN r.k IS NULL THEN {ADD} ELSE {KEEP} END AS kind,
      CASE WHEN d.k IS NULL OR (r.k IS NULL AND d.k < {flag}) THEN coalesce(d.k, r.k) END AS k
    FROM d FULL OUTER JOIN r ON d.k = r.k
  )
  GROUP BY kind, k
)""")


def string_sql(scan: DuckScan, recorded_sql: str, *, long_only: bool) -> str:
    # Desired rows are joined as they come, duplicates included: deduplicating them first would
    # cost a second hash table. Duplicates only multiply `keep`/`add` rows, which the final
    # (small-result) aggregation folds back; `n` counts them. `long_only`: the second pass over
    # the good ids the packed pass left out, and nothing else.
    wanted = f"WHERE code IS NULL AND NOT {packable('id')}" if long_only else ""
    recorded = f"WHERE NOT {packable('id')}" if long_only else ""
    return ordered(f"""
WITH c AS (SELECT code, id FROM ({desired_sql(scan)}) {wanted}),
rec AS (SELECT id FROM ({recorded_sql}) {recorded})
SELECT kind, id, count(*)::BIGINT AS n
FROM (
  SELECT
    CASE WHEN c.code IS NOT NULL THEN c.code
         WHEN c.id IS NULL THEN {REMOVE} WHEN rec.id IS NULL THEN {ADD} ELSE {KEEP} END AS kind,
    CASE WHEN c.code IS NULL AND (c.id IS NULL OR rec.id IS NULL)
         THEN coalesce(c.id, rec.id) END AS id
  FROM c FULL OUTER JOIN rec ON c.id = rec.id
)
GROUP BY kind, id""")


def first_sql(scan: DuckScan) -> str:
    # Nothing recorded: every good id is an add, so no join; one aggregate deduplicates and
    # counts (10M ids: 7.4 s instead of 12.4 s for a join against nothing, same memory).
    return ordered(f"""
SELECT coalesce(code, {ADD}) AS kind, CASE WHEN code IS NULL THEN id END AS id,
       count(*)::BIGINT AS n
FROM ({desired_sql(scan)})
GROUP BY ALL""")


def sample_sql(scan: DuckScan, recorded_sql: str) -> str:
    # Raw values, padding and all: this only picks the faster plan, both plans are exact.
    sides = (
        f"SELECT raw AS v FROM ({scan.rows_sql}) WHERE raw IS NOT NULL LIMIT {SAMPLE}",
        f"SELECT id AS v FROM ({recorded_sql}) LIMIT {SAMPLE}",
    )
    values = " UNION ALL ".join(f"SELECT * FROM ({side})" for side in sides)
    return f"SELECT count(*) FILTER (WHERE strlen(v) > 15) AS long, count(*) AS n FROM ({values})"
