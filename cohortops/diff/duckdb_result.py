"""Reading a diff join's result as DuckDB streams it: row counts per kind, adds and removes.

The result is ordered by kind, then id, so each kind's ids arrive sorted. They go into an
:class:`~cohortops.membership.spilled.IdSink` batch by batch: a 200k-id result stays one Arrow
array, a first plan's 10M adds are spilled to disk as they arrive instead of being held whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cohortops.diff.duckdb_join_sql import ADD, REMOVE
from cohortops.membership import IdArray
from cohortops.membership.spilled import IdSink

BATCH_ROWS = 1 << 17  # result rows per streamed batch (~4 MB)


def stream(relation: Any, rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
    """A relation's result as a stream of Arrow batches."""
    return relation.to_arrow_reader(rows)


@dataclass(frozen=True)
class Joined:
    rows: dict[int, int]  # source rows per kind (keep, add, a reason code...); removes: recorded
    adds: IdArray  # sorted ascending
    removes: IdArray  # sorted ascending


def collect(reader: pa.RecordBatchReader) -> Joined:
    """Consume a ``(kind, id, n)`` result ordered by kind and id."""
    rows: dict[int, int] = {}
    with IdSink() as adds, IdSink() as removes:
        sinks = {ADD: adds, REMOVE: removes}
        for batch in reader:
            kinds, ids, counts = batch.column("kind"), batch.column("id"), batch.column("n")
            for kind in pc.unique(kinds).to_pylist():
                mask = pc.equal(kinds, kind)
                rows[kind] = rows.get(kind, 0) + (pc.sum(counts.filter(mask)).as_py() or 0)
                if kind in sinks:
                    sinks[kind].add(ids.filter(mask))
        return Joined(rows, adds.finish(), removes.finish())
