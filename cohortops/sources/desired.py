"""The cleaned desired identifiers of a source, computed in plain Python.

This is the reference path: obviously correct, used by the Python diff engine and by callers
that want the identifiers themselves (``drift``). It holds every distinct identifier in memory;
the DuckDB engine is the one that scales.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from cohortops.config.model import FileSource, Source
from cohortops.sources.files import Row, iter_file
from cohortops.sources.hygiene import EMPTY, IssueLog, classify
from cohortops.sources.issues import SourceIssue
from cohortops.sources.stream import source_batches


@dataclass(frozen=True)
class DesiredIds:
    """Distinct cleaned identifiers (first-seen order) and what hygiene dropped on the way."""

    ids: pa.StringArray
    issues: tuple[SourceIssue, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)
    duplicates: int = 0
    rows: int = 0  # rows read, blank lines excluded

    @property
    def count(self) -> int:
        return len(self.ids)


def iter_source_rows(source: Source, cohort_id: str) -> Iterator[Row]:
    """``(position, raw, reason)`` for every row of the source, in source order."""
    if isinstance(source, FileSource):
        yield from iter_file(source, cohort_id)
        return
    for batch in source_batches(source, cohort_id):
        columns = batch.to_pydict()
        yield from zip(columns["pos"], columns["raw"], columns["flag"], strict=True)


def read_source_arrow(source: Source, cohort_id: str) -> DesiredIds:
    """Read a source, apply identifier hygiene and return the distinct identifiers.

    Raises :class:`~cohortops.errors.SourceError` when the source cannot be read.
    """
    log = IssueLog(source)
    seen: dict[str, None] = {}
    rows = 0
    valid = 0
    for position, raw, reason in iter_source_rows(source, cohort_id):
        rows += 1
        identifier: str | None = None
        if reason is None:
            identifier, reason = classify(raw)
        if reason is not None or identifier is None:
            log.reject(position, reason or EMPTY)
            continue
        valid += 1
        seen[identifier] = None
    return DesiredIds(
        ids=pa.array(list(seen), pa.string()),
        issues=tuple(log.issues),
        skipped=dict(log.skipped),
        duplicates=valid - len(seen),
        rows=rows,
    )
