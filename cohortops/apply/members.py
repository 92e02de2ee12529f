"""Arrow member arrays as lazy streams of Python strings, a slice at a time.

A 10M-member first load must not turn into 10M Python strings at once.
"""

from __future__ import annotations

from collections.abc import Iterator

from cohortops.membership import IdArray
from cohortops.membership.spilled import pieces

SLICE = 50_000


def iter_ids(array: IdArray, slice_size: int = SLICE) -> Iterator[str]:
    # A spilled set streams its row groups as stored; slicing across them would copy.
    for piece in pieces(array, slice_size):
        yield from piece.to_pylist()
