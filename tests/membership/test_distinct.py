"""sorted_distinct: one way to make ids sorted and distinct, for imports, exports and refreshes."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from cohortops.membership.distinct import sorted_distinct


def test_unsorted_ids_with_repeats_and_nulls_come_back_sorted_distinct() -> None:
    ids = pa.array(["b", None, "a", "b", "B", "é", "a"], pa.large_string())
    got = sorted_distinct(ids)
    assert got.type == pa.string()
    assert got.to_pylist() == ["B", "a", "b", "é"]  # byte order


def test_sorted_distinct_ids_are_returned_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = pa.array(["a", "b", "c"], pa.string())

    def no_sort(*_: object) -> None:
        raise AssertionError("sorted, distinct ids were sorted again")

    monkeypatch.setattr(duckdb, "connect", no_sort)
    assert sorted_distinct(ids).equals(ids)
    monkeypatch.undo()
    assert sorted_distinct(["c", "a", "c"]).to_pylist() == ["a", "c"]
    assert sorted_distinct(pa.chunked_array([["b"], ["a"]])).to_pylist() == ["a", "b"]
    assert sorted_distinct([]).to_pylist() == []
