"""The DuckDB engine streams its result: large id sets spill instead of becoming one array."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.config.model import FileSource
from cohortops.diff.duckdb_engine import DuckDBDiffEngine
from cohortops.diff.engine import make_engine
from cohortops.membership import spilled
from cohortops.membership.spilled import SpilledIds
from cohortops.state.snapshot import RecordedMembers

N = 5_000


@pytest.fixture(autouse=True)
def small_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spilled, "KEEP_DECODED", 1_000)


def _csv(path: Path, ids: list[str]) -> FileSource:
    path.write_text("user_id\n" + "".join(f"{i}\n" for i in ids), encoding="utf-8")
    return FileSource(path=path, format="csv", column="user_id")


def test_a_first_plan_of_many_ids_is_spilled_not_one_array(tmp_path: Path) -> None:
    ids = [f"user_{i:09d}" for i in reversed(range(N))] + ["user_000000007", '""']
    source = _csv(tmp_path / "d.csv", ids)
    nothing = RecordedMembers("c", None, [], [], 0)
    with DuckDBDiffEngine() as engine:
        diff = engine.diff("c", source, nothing)
    assert isinstance(diff.to_add, SpilledIds)
    assert diff.to_add.to_pylist() == sorted(set(ids) - {'""'})
    assert (diff.adds, diff.removes, diff.duplicates) == (N, 0, 1)
    assert diff.skipped == {"empty": 1}


@pytest.mark.parametrize("join", ["packed", "string"])
def test_spilled_adds_and_removes_match_the_python_engine(tmp_path: Path, join: str) -> None:
    # Long ids (over 15 bytes) take the second, string pass under the packed join: both passes'
    # spilled results are merged.
    desired = [f"u{i:06d}" for i in range(0, N, 2)] + [
        f"a-long-identifier-{i:06d}" for i in range(N)
    ]
    recorded = [f"u{i:06d}" for i in range(1, N, 2)] + [
        f"a-long-identifier-{i:06d}" for i in range(0, N, 3)
    ]
    source = _csv(tmp_path / "d.csv", desired)
    snapshot = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": pa.array(sorted(recorded), pa.string())}), snapshot)
    have = RecordedMembers("c", snapshot, [], [], len(recorded))
    with DuckDBDiffEngine(join=join) as engine:  # type: ignore[arg-type]
        got = engine.diff("c", source, have)
    want = make_engine("python").diff("c", source, have)
    assert isinstance(got.to_add, SpilledIds) and isinstance(got.to_remove, SpilledIds)
    assert got.to_add.to_pylist() == want.to_add.to_pylist()
    assert got.to_remove.to_pylist() == want.to_remove.to_pylist()
    assert (got.desired_count, got.recorded_count) == (want.desired_count, want.recorded_count)
