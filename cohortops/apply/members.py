"""Arrow member arrays as lazy streams of Python strings, a slice at a time.

A 10M-member first load must not turn into 10M Python strings at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cohortops.state.records import RecordedMembers

SLICE = 50_000


def iter_ids(array: Any, slice_size: int = SLICE) -> Iterator[str]:
    for start in range(0, len(array), slice_size):
        yield from array.slice(start, slice_size).to_pylist()


def _strings(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks().cast(pa.string())
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(list(values), type=pa.string())


def recorded_array(recorded: RecordedMembers) -> Any:
    """A recorded set as one sorted Arrow string array: snapshot ∪ added − removed."""
    members = pa.array([], type=pa.string())
    if recorded.snapshot is not None:
        members = _strings(pq.read_table(recorded.snapshot, columns=["id"]).column("id"))
    removed = _strings(recorded.delta_removed)
    if len(removed):
        members = members.filter(pc.invert(pc.is_in(members, value_set=removed)))
    combined = pc.unique(pa.concat_arrays([members, _strings(recorded.delta_added)]))
    return pc.take(combined, pc.sort_indices(combined))
