"""The sources that arrive as Arrow batches (SQL queries, Lytics audiences, Braze segments),
behind one call."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from cohortops.config.model import BrazeSegmentSource, LyticsSource, SqlSource
from cohortops.sources.sql import sql_batches

StreamedSource = SqlSource | LyticsSource | BrazeSegmentSource


def source_batches(source: StreamedSource, cohort_id: str) -> Iterator[pa.RecordBatch]:
    """``BATCH_SCHEMA`` batches of a non-file source, streamed."""
    # Imported here: their HTTP clients (httpx, ~0.1 s) are for plans that read them.
    if isinstance(source, LyticsSource):
        from cohortops.sources.lytics import lytics_batches

        return lytics_batches(source, cohort_id)
    if isinstance(source, BrazeSegmentSource):
        from cohortops.sources.braze_segment import braze_segment_batches

        return braze_segment_batches(source, cohort_id)
    return sql_batches(source, cohort_id)
