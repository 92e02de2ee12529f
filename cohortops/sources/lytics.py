"""Lytics sources: an audience's member ids streamed as Arrow batches of ``BATCH_SCHEMA``.

Pages of the segment scan are turned into Arrow arrays as they arrive and gathered into batches
of :data:`CHUNK_ROWS`, so a 2M-member audience is never 2M Python objects at once. A profile
without the id field becomes a rejected row (``missing_id_field``) with its scan position.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from cohortops.config.model import LyticsSource
from cohortops.errors import LyticsError, SourceError
from cohortops.sources.sql import positioned_batch

if TYPE_CHECKING:  # the Lytics client brings httpx (~0.12 s): only Lytics sources pay for it
    from cohortops.lytics import LyticsHttp

CHUNK_ROWS = 50_000


def open_http(source: LyticsSource, cohort_id: str) -> LyticsHttp:
    from cohortops.lytics import LyticsHttp

    return LyticsHttp(
        source.endpoint.reveal(),
        source.token.reveal(),
        what=f"Cohort {cohort_id}",
        token_hint=source.token.env_hint,
    )


def lytics_batches(
    source: LyticsSource, cohort_id: str, *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pa.RecordBatch]:
    """Stream the segment's ids; raises :class:`SourceError` while iterating when Lytics fails."""
    try:
        yield from _batches(source, cohort_id, chunk_rows)
    except LyticsError as exc:
        raise SourceError(exc.message, hint=exc.hint) from None


def _batches(source: LyticsSource, cohort_id: str, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    from cohortops.lytics import scan_pages

    with open_http(source, cohort_id) as http:
        raws: list[pa.Array] = []
        flags: list[pa.Array] = []
        pending = 0
        start = 0
        for page in scan_pages(http, source.segment, source.id_field, limit=source.page_size):
            if not page.raws:
                continue
            raws.append(pa.array(page.raws, pa.string()))
            flags.append(pa.array(page.flags, pa.string()))
            pending += len(page.raws)
            if pending >= chunk_rows:
                yield _batch(raws, flags, start)
                start += pending
                raws, flags, pending = [], [], 0
        if pending:
            yield _batch(raws, flags, start)


def _batch(raws: list[pa.Array], flags: list[pa.Array], start: int) -> pa.RecordBatch:
    return positioned_batch(pa.concat_arrays(raws), pa.concat_arrays(flags), start)
