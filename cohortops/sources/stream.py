"""The sources that arrive as Arrow batches (SQL queries, Lytics audiences), behind one call."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from cohortops.config.model import LyticsSource, SqlSource
from cohortops.sources.lytics import lytics_batches
from cohortops.sources.sql import sql_batches


def source_batches(source: SqlSource | LyticsSource, cohort_id: str) -> Iterator[pa.RecordBatch]:
    """``BATCH_SCHEMA`` batches of a non-file source, streamed."""
    if isinstance(source, LyticsSource):
        return lytics_batches(source, cohort_id)
    return sql_batches(source, cohort_id)
