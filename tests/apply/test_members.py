from __future__ import annotations

import pyarrow as pa
import pytest

from cohortops.apply.members import iter_ids
from cohortops.membership.spilled import ROW_GROUP, IdSink, SpilledIds


def test_iter_ids_streams_in_slices() -> None:
    array = pa.array([f"u{i}" for i in range(7)])
    assert list(iter_ids(array, slice_size=3)) == [f"u{i}" for i in range(7)]


def test_a_spilled_set_streams_by_row_group_without_slicing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [f"u{i:06d}" for i in range(3 * ROW_GROUP + 5)]
    with IdSink(keep=0) as sink:
        sink.add(pa.array(ids))
        spilled = sink.finish()
    assert isinstance(spilled, SpilledIds)

    def no_slice(*_: object) -> None:
        raise AssertionError("slices across row groups copy them")

    monkeypatch.setattr(SpilledIds, "slice", no_slice)
    assert list(iter_ids(spilled)) == ids
