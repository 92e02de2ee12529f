"""Spilled id sets: past a bound the ids go to disk, and reading them decodes row groups only."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from cohortops.membership import IdArray
from cohortops.membership.spilled import ROW_GROUP, IdSink, RowGroups, SpilledIds, pieces

IDS = [f"user_{i:07d}" for i in range(3 * ROW_GROUP + 123)]


def _sink(keep: int, directory: Path, step: int = 7_777) -> IdArray:
    sink = IdSink(keep=keep, directory=str(directory))
    for start in range(0, len(IDS), step):
        sink.add(pa.array(IDS[start : start + step], pa.string()))
    return sink.finish()


def test_past_the_bound_ids_spill_to_an_anonymous_file(tmp_path: Path) -> None:
    ids = _sink(keep=10_000, directory=tmp_path)
    assert isinstance(ids, SpilledIds)
    assert list(tmp_path.iterdir()) == []  # nothing to clean up, even after a crash
    assert len(ids) == len(IDS) and ids.null_count == 0 and ids.type == pa.string()
    assert ids.to_pylist() == IDS
    assert [len(p) for p in pieces(ids)] == [ROW_GROUP] * 3 + [123]


def test_under_the_bound_ids_stay_one_arrow_array(tmp_path: Path) -> None:
    ids = _sink(keep=len(IDS), directory=tmp_path)
    assert isinstance(ids, pa.Array) and ids.to_pylist() == IDS
    assert IdSink().finish().to_pylist() == []


@pytest.mark.parametrize(
    ("offset", "length"),
    [(0, 5), (ROW_GROUP - 2, 4), (len(IDS) - 3, None), (len(IDS) + 5, 3), (7, 0), (0, None)],
)
def test_slices_match_pyarrow_slices(tmp_path: Path, offset: int, length: int | None) -> None:
    ids = _sink(keep=0, directory=tmp_path)
    expected = pa.array(IDS).slice(offset, length)
    assert ids.slice(offset, length).to_pylist() == expected.to_pylist()


def test_a_slice_decodes_only_the_row_groups_it_covers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _sink(keep=0, directory=tmp_path)
    decoded: list[int] = []
    group = RowGroups.group

    def counted(self: RowGroups, index: int) -> pa.Array:
        decoded.append(index)
        return group(self, index)

    monkeypatch.setattr(RowGroups, "group", counted)
    ids.slice(0, 10)
    ids.slice(2 * ROW_GROUP + 1, 10)
    assert decoded == [0, 2]


def test_ranges_of_one_file_and_equality(tmp_path: Path) -> None:
    whole = _sink(keep=0, directory=tmp_path)
    assert isinstance(whole, SpilledIds)
    groups = whole._groups
    head, tail = SpilledIds(groups, 0, 100), SpilledIds(groups, 100, len(IDS) - 100)
    assert head.to_pylist() == IDS[:100] and tail.slice(0, 2).to_pylist() == IDS[100:102]
    assert tail == pa.array(IDS[100:]) and pa.array(IDS[100:]) == tail
    assert head != tail and head != pa.array(IDS[1:101])
    assert whole == pa.chunked_array([IDS[:5], IDS[5:]])
