from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cohortops.apply.members import iter_ids, recorded_array
from cohortops.state.records import RecordedMembers


def test_iter_ids_streams_in_slices() -> None:
    array = pa.array([f"u{i}" for i in range(7)])
    assert list(iter_ids(array, slice_size=3)) == [f"u{i}" for i in range(7)]


def test_recorded_array_applies_deltas_to_the_snapshot(tmp_path: Path) -> None:
    snap = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"]}), snap)
    recorded = RecordedMembers("c", snap, pa.array(["d", "a"]), pa.array(["b"]), 3)
    assert recorded_array(recorded).to_pylist() == ["a", "c", "d"]


def test_recorded_array_without_snapshot() -> None:
    recorded = RecordedMembers("c", None, ["z", "y"], [], 2)
    assert recorded_array(recorded).to_pylist() == ["y", "z"]
