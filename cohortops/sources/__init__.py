"""Member sources: CSV, JSONL and Parquet files and SQL queries, with identifier hygiene.

Public API:

- :func:`read_source_arrow` – read a source in plain Python, clean and deduplicate its
  identifiers, and return them with what was dropped (:class:`DesiredIds`).
- :func:`sql_batches` – stream a SQL source's identifier column as Arrow batches.
- :mod:`cohortops.sources.hygiene` – the rules (``MAX_ID_LENGTH``, ``MAX_ISSUES``, reasons).

The DuckDB diff engine reads files natively through :mod:`cohortops.sources.duckdb_scan`.
"""

from cohortops.sources.desired import DesiredIds, iter_source_rows, read_source_arrow
from cohortops.sources.hygiene import MAX_ID_LENGTH, MAX_ISSUES, MESSAGES, classify
from cohortops.sources.sql import BATCH_SCHEMA, mask_url, sql_batches

__all__ = [
    "BATCH_SCHEMA",
    "MAX_ID_LENGTH",
    "MAX_ISSUES",
    "MESSAGES",
    "DesiredIds",
    "classify",
    "iter_source_rows",
    "mask_url",
    "read_source_arrow",
    "sql_batches",
]
