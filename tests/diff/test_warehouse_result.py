"""Reading the warehouse diff's rows: counts and the delta fold over rows split into batches."""

from __future__ import annotations

import pyarrow as pa

from cohortops.diff.warehouse_result import Result, deltas
from cohortops.diff.warehouse_sql import ADD, FINGERPRINT, IN_BOTH, REMOVE, STATS

SCHEMA = pa.schema([("kind", pa.int32()), ("id", pa.string()), ("n", pa.int64())])


def batch(*rows: tuple[int, str | None, int]) -> pa.RecordBatch:
    kinds, ids, ns = zip(*rows, strict=True)
    return pa.RecordBatch.from_arrays(
        [pa.array(kinds, pa.int32()), pa.array(ids, pa.string()), pa.array(ns, pa.int64())],
        schema=SCHEMA,
    )


def test_counts_and_fold_read_every_batch() -> None:
    # S = {m1, m2, m3, m4, d1}; desired = {m1, m4, a1, a2, a3 (twice), d1}; A = {d1}, D = {m1}
    result = Result().read(
        [
            batch((ADD, "a1", 1), (REMOVE, "m2", 1), (STATS, None, 1)),  # STATS: m4
            batch((ADD, "a2", 1), (ADD, "a3", 2), (REMOVE, "m3", 1), (IN_BOTH, "d1", 1)),
            batch((IN_BOTH, "m1", 1), (FINGERPRINT, "10:d1:m4", 5)),
        ]
    )
    assert result.fingerprint == (5, "10:d1:m4")
    assert result.distinct == 5 - 2 + 3  # |S| - |Y| + |X|, X and Y from all batches
    assert result.duplicates == 1  # a3's second row: 1 (m4) + 6 valid rows - 6 distinct
    added, removed = deltas(["d1"], ["m1"])
    adds, removes, recorded = result.fold(added, removed, 5)
    assert adds.to_pylist() == ["a1", "a2", "a3", "m1"]  # m1: desired, removed in the delta
    assert removes.to_pylist() == ["m2", "m3"]
    assert recorded == 5 - 2 + 1  # {m2, m3, m4, d1}
