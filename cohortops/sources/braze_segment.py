"""Braze segment sources: a segment export's member ids streamed as Arrow batches of
``BATCH_SCHEMA``.

The export (``POST /users/export/segment``) is started with the named ``kind: braze``
destination's client, its archive downloaded (bounded, polled until written) into a temporary
directory and read block by block by Arrow's JSON reader, with the decompressed size bounded:
ids never become Python objects. Positions count users in archive order; a user without the
cohort's identifier (an anonymous user, or no alias with the label) is a rejected row
(``missing_id_field``). Identifier hygiene then runs in the diff engine as for every source.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cohortops.braze.destination import destination_client
from cohortops.braze.errors import BrazeBadRequestError
from cohortops.braze.segment_archive import DEFAULT_MAX_BYTES as MAX_ARCHIVE_BYTES
from cohortops.braze.segment_archive import iter_member_ids
from cohortops.braze.segment_download import DEFAULT_MAX_BYTES as MAX_DOWNLOAD_BYTES
from cohortops.braze.segment_download import export_archive
from cohortops.config.model import BrazeSegmentSource
from cohortops.errors import BrazeError, SecretError, SourceError
from cohortops.sources.hygiene import MISSING_ID
from cohortops.sources.sql import positioned_batch

CHUNK_ROWS = 50_000
SEGMENT_HINT = "Check the segment's API identifier (source.braze_segment.segment), then plan again."


# (destination, segment, identifier) -> downloaded archive, while shared_exports() is active
_Key = tuple[object, str, str]
_SHARED: ContextVar[tuple[Path, dict[_Key, Path]] | None] = ContextVar("_SHARED", default=None)


@contextmanager
def shared_exports() -> Iterator[None]:
    """Within the block each Braze segment is exported once: a cohort feeding several
    connections reads one archive (the same snapshot) for every pair."""
    with tempfile.TemporaryDirectory(prefix="cohortops-segments-") as tmp:
        token = _SHARED.set((Path(tmp), {}))
        try:
            yield
        finally:
            _SHARED.reset(token)


def braze_segment_batches(
    source: BrazeSegmentSource,
    cohort_id: str,
    *,
    chunk_rows: int = CHUNK_ROWS,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
    max_archive_bytes: int = MAX_ARCHIVE_BYTES,
) -> Iterator[pa.RecordBatch]:
    """Stream the segment's ids; raises :class:`SourceError` while iterating when Braze fails."""
    try:
        with _archive(source, max_download_bytes) as archive:
            blocks = iter_member_ids(
                archive,
                source.identifier,
                alias_label=source.alias_label,
                max_bytes=max_archive_bytes,
            )
            yield from _batches(blocks, chunk_rows)
    except (BrazeError, SecretError) as exc:
        # a segment that cannot be read fails its cohort only, as any unreadable source does
        hint = SEGMENT_HINT if isinstance(exc, BrazeBadRequestError) else exc.hint
        raise SourceError(f"Cohort {cohort_id}: {exc.message}", hint=hint) from None


@contextmanager
def _archive(source: BrazeSegmentSource, max_download_bytes: int) -> Iterator[Path]:
    """The segment's export archive: downloaded now, or earlier within ``shared_exports()``."""
    shared = _SHARED.get()
    key: _Key = (source.braze, source.segment, source.identifier)
    if shared is not None and key in shared[1]:
        yield shared[1][key]
        return
    with ExitStack() as stack:
        if shared is not None:
            workdir = shared[0]
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cohortops-")))
        with destination_client(source.braze) as client:
            archive = export_archive(
                client,
                source.segment,
                workdir,
                identifier=source.identifier,
                max_download_bytes=max_download_bytes,
                ready_timeout=source.ready_timeout,
                poll_seconds=source.poll_seconds,
            )
        if shared is not None:
            shared[1][key] = archive
        yield archive


def _batches(blocks: Iterator[pa.Array], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    start = 0
    for block in blocks:
        for offset in range(0, len(block), chunk_rows):
            raw = block.slice(offset, chunk_rows)
            flag = pc.if_else(pc.is_null(raw), pa.scalar(MISSING_ID), pa.scalar(None, pa.string()))
            yield positioned_batch(raw, flag, start)
            start += len(raw)
