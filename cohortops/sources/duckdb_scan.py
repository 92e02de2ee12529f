"""SQL that reads a source natively in DuckDB and applies identifier hygiene in SQL.

A scan yields ``raw`` (the value as text) and ``flag`` (a reason already known, e.g. invalid
JSON, or ``'blank'`` for a line to skip); :func:`classified_sql` turns that into ``id`` and
``reason`` with the rules of :mod:`cohortops.sources.hygiene`. The positioned variant adds
``pos`` (1-based record, line or row) and ``nl`` (line breaks inside the record, so CSV line
numbers stay right after quoted multi-line fields); it is only run when rows were rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from cohortops.config.model import FileSource
from cohortops.sources.files import csv_layout, missing_file, parquet_column
from cohortops.sources.hygiene import (
    BAD_JSON,
    BAD_TYPE,
    BLANK,
    CONTROL,
    CONTROL_RE2,
    EMPTY,
    HEADER,
    MAX_ID_LENGTH,
    MAX_ISSUES,
    MESSAGES,
    NOT_OBJECT,
    SPECIAL_RE2,
    TOO_LONG,
    WHITESPACE,
)

# DuckDB reads an empty unquoted field as NULL unless told otherwise; this string never occurs
# in real data, so empty fields stay '' and only padded (missing) fields are NULL.
_NULLSTR = "chr(1)||'cohortops-null'||chr(1)"
_SMALL_CSV = 64 << 20  # bytes; below this, smaller read buffers (see _buffer_size)
_MIN_CSV_BUFFER = 4 << 20  # above DuckDB's 2 MiB maximum line size, which it must exceed
_WHITESPACE_SQL = "||".join(f"chr({ord(c)})" for c in WHITESPACE)


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class DuckScan:
    rows_sql: str  # SELECT raw, flag
    positioned_sql: str  # SELECT pos, raw, flag, nl
    ordered: bool  # pos comes from row_number() OVER (): needs preserve_insertion_order
    pos_offset: int = 0  # lines before the first record (CSV header)
    serial: bool = False  # a CSV read without DuckDB's parallel reader


# A value is "plain" when it is ASCII, has nothing JSON would escape (control characters), no
# DEL and no space at either end: then it is its own identifier and needs no trim or regexp.
# This cheap test (string lengths, a prefix and a suffix) keeps hygiene at a fraction of the
# scan cost; only the rare other values pay for the regexp and the Unicode trim.
_PLAIN = (
    "strlen(raw) = length(raw) AND strlen(to_json(raw)) = strlen(raw) + 2"
    " AND NOT contains(raw, chr(127)) AND raw NOT LIKE ' %' AND raw NOT LIKE '% '"
)
_NEEDS_TRIM_RE2 = "^ | $|" + SPECIAL_RE2


def classified_sql(scan_sql: str, *, positioned: bool) -> str:
    """``reason`` (NULL for a good row) and ``id`` (the trimmed identifier) per scanned row."""
    extra = "pos, nl, " if positioned else ""
    return f"""
SELECT {extra}
  CASE
    WHEN flag IS NOT NULL THEN flag
    WHEN v IS NULL OR v = '' THEN '{EMPTY}'
    WHEN strlen(v) > {MAX_ID_LENGTH} AND length(v) > {MAX_ID_LENGTH} THEN '{TOO_LONG}'
    WHEN NOT plain AND regexp_matches(v, {lit(CONTROL_RE2)}) THEN '{CONTROL}'
  END AS reason,
  v AS id
FROM (
  SELECT *,
    CASE WHEN plain THEN raw
         WHEN regexp_matches(raw, {lit(_NEEDS_TRIM_RE2)}) THEN trim(raw, {_WHITESPACE_SQL})
         ELSE raw END AS v
  FROM (SELECT *, coalesce({_PLAIN}, true) AS plain FROM ({scan_sql}))
)"""


# Rejected rows carry their reason as a small integer (REASON_BASE + its index in REASONS):
# an integer crosses a join and groups more cheaply than text.
REASONS: tuple[str, ...] = tuple(MESSAGES)
REASON_BASE = 16


def desired_sql(scan: DuckScan) -> str:
    """Every non-blank record: ``code`` (NULL, or why it was rejected) and its ``id`` if good."""
    cases = " ".join(f"WHEN {lit(r)} THEN {REASON_BASE + i}" for i, r in enumerate(REASONS))
    return f"""
SELECT CASE reason {cases} END AS code, CASE WHEN reason IS NULL THEN id END AS id
FROM ({classified_sql(scan.rows_sql, positioned=False)})
WHERE reason IS DISTINCT FROM '{BLANK}'"""


def issues_sql(scan: DuckScan) -> str:
    """Positioned rejected records, and multi-line ones (their line breaks shift the line
    numbers of later records), up to the MAX_ISSUES-th rejected one, in source order."""
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


def _buffer_size(source: FileSource, *, head: bool = False) -> str:
    # DuckDB's parallel CSV reader hands out buffers of 32 MiB: a 15 MB file (1M ids) would be
    # parsed by one thread. Smaller buffers let both cores work (1M ids: CSV read 0.10 s ->
    # 0.06 s); on large files they only add overhead, so DuckDB's default stays. A read of the
    # first rows only (``head``) takes the smallest buffer whatever the size.
    if head:
        return f", buffer_size={_MIN_CSV_BUFFER}"
    size = source.path.stat().st_size
    if size >= _SMALL_CSV:
        return ""
    return f", buffer_size={max(_MIN_CSV_BUFFER, -(-size // 4))}"


def _csv_reader(source: FileSource, columns: int, *, parallel: bool, head: bool = False) -> str:
    names = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(columns))
    return (
        f"read_csv({lit(str(source.path))}, columns={{{names}}}, "
        f"header={'true' if source.header else 'false'}, auto_detect=false, "
        f"delim={lit(source.delimiter)}, quote='\"', escape='\"', strict_mode=false, "
        f"null_padding=true, allow_quoted_nulls=false, nullstr={_NULLSTR}, "
        f"parallel={'true' if parallel else 'false'}{_buffer_size(source, head=head)})"
    )


def _line_breaks(column: str) -> str:
    # \r\n counts once, a lone \r or \n once each: as Python's csv module counts lines. The
    # replace() calls only run for the rare values that hold a line break.
    count = (
        f"length({column}) - length(replace({column}, chr(10), ''))"
        f" + length({column}) - length(replace({column}, chr(13), ''))"
        f" - (length({column}) - length(replace({column}, chr(13)||chr(10), ''))) // 2"
    )
    return (
        f"CASE WHEN contains({column}, chr(10)) OR contains({column}, chr(13)) "
        f"THEN {count} ELSE 0 END"
    )


def _bom_line(source: FileSource) -> int:
    """1 when a headerless file's first line is only a byte order mark, else 0.

    DuckDB strips the mark and then skips the blank line without counting it; Python's csv
    module (the reference engine) counts it, so later line numbers need the extra line.
    """
    if source.header:
        return 0
    with source.path.open("rb") as handle:
        start = handle.read(4)
    return int(start[:3] == b"\xef\xbb\xbf" and start[3:4] in (b"\r", b"\n"))


def csv_scan(
    source: FileSource, cohort_id: str, *, parallel: bool = True, head: bool = False
) -> DuckScan:
    """``head``: for reading the first rows only (a sample): serial, with the smallest buffer."""
    parallel = parallel and not head
    layout = csv_layout(source, cohort_id)
    wanted = f"c{layout.index}"
    all_columns = max(len(layout.names), layout.index + 1)
    breaks = " + ".join(_line_breaks(f"c{i}") for i in range(all_columns))
    flag = "NULL::VARCHAR"
    if source.header and layout.index < len(layout.names):
        header = lit(layout.names[layout.index])
        flag = f"CASE WHEN {wanted} = {header} THEN {lit(HEADER)} END"
    return DuckScan(
        rows_sql=(
            f"SELECT {wanted} AS raw, {flag} AS flag "
            f"FROM {_csv_reader(source, layout.index + 1, parallel=parallel, head=head)}"
        ),
        positioned_sql=(
            f"SELECT row_number() OVER () AS pos, {wanted} AS raw, {flag} AS flag, "
            f"{breaks} AS nl FROM {_csv_reader(source, all_columns, parallel=parallel)}"
        ),
        ordered=True,
        pos_offset=layout.header_lines + _bom_line(source),
        serial=not parallel,
    )


def _json_pointer(field: str | None) -> str:
    if field is None:  # the object's first key
        key = "json_keys(l)[1]"
        guard = "CASE WHEN json_valid(l) AND json_type(l) = 'OBJECT' THEN "
        return f"{guard}'/' || replace(replace({key}, '~', '~0'), '/', '~1') END"
    return lit("/" + field.replace("~", "~0").replace("/", "~1"))


def _jsonl_sql(lines: str, pointer: str, *, positioned: bool) -> str:
    pos = "pos, " if positioned else ""
    numbered = f"(SELECT row_number() OVER () AS pos, l FROM {lines})" if positioned else lines
    return f"""
SELECT {pos}flag, CASE WHEN flag IS NULL AND p IS NOT NULL THEN json_extract_string(l, p) END AS raw
  {", 0 AS nl" if positioned else ""}
FROM (
  SELECT {pos}l, p, CASE
      WHEN l IS NULL OR trim(l) = '' THEN '{BLANK}'
      WHEN NOT json_valid(l) THEN '{BAD_JSON}'
      WHEN json_type(l) <> 'OBJECT' THEN '{NOT_OBJECT}'
      WHEN p IS NULL THEN NULL
      WHEN coalesce(json_type(l, p), 'NULL') IN ('NULL', 'VARCHAR', 'BIGINT', 'UBIGINT') THEN NULL
      ELSE '{BAD_TYPE}'
    END AS flag
  FROM (SELECT {pos}l, {pointer} AS p FROM {numbered})
)"""


def jsonl_scan(source: FileSource, cohort_id: str) -> DuckScan:
    if not source.path.is_file():
        raise missing_file(source, cohort_id)
    # Each line as one value: no quoting, and a delimiter that valid JSON never contains raw.
    lines = (
        f"read_csv({lit(str(source.path))}, columns={{'l': 'VARCHAR'}}, header=false, "
        "auto_detect=false, delim=chr(31), quote='', escape='', strict_mode=false)"
    )
    pointer = _json_pointer(source.column)
    return DuckScan(
        rows_sql=_jsonl_sql(lines, pointer, positioned=False),
        positioned_sql=_jsonl_sql(lines, pointer, positioned=True),
        ordered=True,
    )


def parquet_scan(source: FileSource, cohort_id: str) -> DuckScan:
    name, _ = parquet_column(source, cohort_id)
    path = lit(str(source.path))
    value = f"CAST({ident(name)} AS VARCHAR)"
    return DuckScan(
        rows_sql=f"SELECT {value} AS raw, NULL::VARCHAR AS flag FROM read_parquet({path})",
        positioned_sql=(
            f"SELECT file_row_number + 1 AS pos, {value} AS raw, NULL::VARCHAR AS flag, 0 AS nl "
            f"FROM read_parquet({path}, file_row_number=true)"
        ),
        ordered=False,
    )


def table_scan(table: str) -> DuckScan:
    """A source already loaded into a DuckDB table of ``pos, raw, flag`` (SQL sources)."""
    return DuckScan(
        rows_sql=f"SELECT raw, flag FROM {ident(table)}",
        positioned_sql=f"SELECT pos, raw, flag, 0 AS nl FROM {ident(table)}",
        ordered=False,
    )


def file_scan(
    source: FileSource, cohort_id: str, *, parallel: bool = True, head: bool = False
) -> DuckScan:
    """``head``: a scan meant for the first rows only (LIMIT); CSV reads them serially from a
    small buffer (1M ids: 0.015-0.026 s -> 0.008 s; 10M: 0.025-0.035 s -> 0.008 s)."""
    if source.format == "csv":
        return csv_scan(source, cohort_id, parallel=parallel, head=head)
    if source.format == "jsonl":
        return jsonl_scan(source, cohort_id)
    return parquet_scan(source, cohort_id)
