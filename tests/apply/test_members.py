from __future__ import annotations

import pyarrow as pa

from cohortops.apply.members import iter_ids


def test_iter_ids_streams_in_slices() -> None:
    array = pa.array([f"u{i}" for i in range(7)])
    assert list(iter_ids(array, slice_size=3)) == [f"u{i}" for i in range(7)]
