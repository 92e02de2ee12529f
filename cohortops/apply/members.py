"""Arrow member arrays as lazy streams of Python strings, a slice at a time.

A 10M-member first load must not turn into 10M Python strings at once.
"""

from __future__ import annotations

from collections.abc import Iterator

from cohortops.membership import IdArray

SLICE = 50_000


def iter_ids(array: IdArray, slice_size: int = SLICE) -> Iterator[str]:
    for start in range(0, len(array), slice_size):
        yield from array.slice(start, slice_size).to_pylist()
