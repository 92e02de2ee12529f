"""Behaviour both diff engines share (the conformance suite for DiffEngine)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.config.model import FileSource, Secret, Source, SqlSource
from cohortops.diff.engine import DiffEngine, make_engine
from cohortops.errors import SourceError, StateError
from cohortops.sources.hygiene import MAX_ISSUES
from cohortops.state.snapshot import RecordedMembers


@pytest.fixture(params=["duckdb", "python"])
def engine(request: pytest.FixtureRequest) -> Iterator[DiffEngine]:
    made = make_engine(request.param, memory_limit="128MB", threads=2)
    yield made
    made.close()


def csv_source(tmp_path: Path, ids: list[str], header: str = "user_id") -> FileSource:
    path = tmp_path / "desired.csv"
    path.write_text(header + "\n" + "".join(i + "\n" for i in ids), encoding="utf-8")
    return FileSource(path=path, format="csv", column=header)


def recorded(
    tmp_path: Path,
    snapshot: list[str] | None,
    added: Sequence[str] = (),
    removed: Sequence[str] = (),
) -> RecordedMembers:
    path = None
    if snapshot is not None:
        path = tmp_path / "snapshot.parquet"
        pq.write_table(
            pa.table({"id": pa.array(sorted(snapshot), pa.string())}), path, compression="zstd"
        )
    return RecordedMembers("c", path, list(added), list(removed), 0)


def test_adds_and_removes_sorted(engine: DiffEngine, tmp_path: Path) -> None:
    source = csv_source(tmp_path, ["u3", "00123", "u1", " u2 ", "u1", "é", "U1"])
    diff = engine.diff("c", source, recorded(tmp_path, ["u1", "u2", "u9", "u0"]))
    assert diff.cohort_id == "c"
    assert diff.to_add.to_pylist() == ["00123", "U1", "u3", "é"]  # byte order
    assert diff.to_remove.to_pylist() == ["u0", "u9"]
    assert diff.to_add.type == pa.string() and diff.to_remove.type == pa.string()
    assert (diff.desired_count, diff.recorded_count, diff.duplicates) == (6, 4, 1)
    assert (diff.adds, diff.removes) == (4, 2)
    assert diff.issues == () and dict(diff.skipped) == {}


def test_recorded_set_is_snapshot_plus_added_minus_removed(
    engine: DiffEngine, tmp_path: Path
) -> None:
    source = csv_source(tmp_path, ["a", "c", "d"])
    members = recorded(tmp_path, ["a", "b"], added=["b", "c", "e"], removed=["a"])
    diff = engine.diff("c", source, members)
    assert diff.recorded_count == 3  # b, c, e
    assert diff.to_add.to_pylist() == ["a", "d"]
    assert diff.to_remove.to_pylist() == ["b", "e"]


def test_without_snapshot_everything_is_new(engine: DiffEngine, tmp_path: Path) -> None:
    diff = engine.diff("c", csv_source(tmp_path, ["b", "a"]), recorded(tmp_path, None))
    assert diff.to_add.to_pylist() == ["a", "b"] and diff.removes == 0 and diff.recorded_count == 0


def test_empty_source_removes_everyone(engine: DiffEngine, tmp_path: Path) -> None:
    diff = engine.diff("c", csv_source(tmp_path, []), recorded(tmp_path, ["a", "b"], added=["c"]))
    assert diff.to_remove.to_pylist() == ["a", "b", "c"] and diff.desired_count == 0


def test_rejected_rows_are_counted_and_the_first_located(
    engine: DiffEngine, tmp_path: Path
) -> None:
    ids = ["ok"] + [""] * 150 + ["x" * 256, "a\tb"] + ["ok2"]
    source = csv_source(tmp_path, ['""' if i == "" else i for i in ids])
    diff = engine.diff("c", source, recorded(tmp_path, []))
    assert diff.to_add.to_pylist() == ["ok", "ok2"]
    assert dict(diff.skipped) == {"control_character": 1, "empty": 150, "too_long": 1}
    assert len(diff.issues) == MAX_ISSUES
    assert diff.issues[0].where == f"{tmp_path}/desired.csv:3"
    assert diff.issues[0].message == "empty identifier"
    assert diff.issues[-1].where == f"{tmp_path}/desired.csv:{MAX_ISSUES + 2}"


def test_jsonl_and_parquet_sources(engine: DiffEngine, tmp_path: Path) -> None:
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"user": "a"}\n{"user": 12}\nnope\n{"user": "a"}\n', encoding="utf-8")
    diff = engine.diff(
        "c", FileSource(path=jsonl, format="jsonl", column="user"), recorded(tmp_path, ["b"])
    )
    assert diff.to_add.to_pylist() == ["12", "a"] and diff.duplicates == 1
    assert [(i.where, i.message) for i in diff.issues] == [(f"{jsonl}:3", "line is not valid JSON")]
    parquet = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": pa.array(["b", None, "c"])}), parquet)
    diff = engine.diff("c", FileSource(path=parquet, format="parquet"), recorded(tmp_path, ["b"]))
    assert diff.to_add.to_pylist() == ["c"]
    assert [(i.where, i.message) for i in diff.issues] == [(f"{parquet} row 2", "empty identifier")]


def test_sql_source(engine: DiffEngine, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t (id)")
        con.executemany("insert into t values (?)", [("a",), (2,), (None,), ("a",)])
    source = SqlSource(url=Secret(f"sqlite:///{db}"), query="select id from t")
    diff = engine.diff("c", source, recorded(tmp_path, ["a", "z"]))
    assert diff.to_add.to_pylist() == ["2"] and diff.to_remove.to_pylist() == ["z"]
    assert [(i.where, i.message) for i in diff.issues] == [("sql row 3", "empty identifier")]
    assert diff.duplicates == 1


def wrong_column(tmp_path: Path) -> FileSource:
    path = csv_source(tmp_path, ["a"], header="other").path
    return FileSource(path=path, format="csv", column="user_id")


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (lambda p: FileSource(path=p / "missing.csv", format="csv"), "does not exist"),
        (lambda p: FileSource(path=p / "missing.jsonl", format="jsonl"), "does not exist"),
        (lambda p: FileSource(path=p / "missing.parquet", format="parquet"), "does not exist"),
        (lambda p: wrong_column(p), "has no column 'user_id'"),
        (
            lambda p: SqlSource(
                url=Secret("sqlite:///" + str(p / "x.db")), query="select * from t"
            ),
            "the SQL query failed",
        ),
    ],
)
def test_source_errors(
    engine: DiffEngine, tmp_path: Path, make_source: Callable[[Path], Source], message: str
) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        engine.diff("churn", make_source(tmp_path), recorded(tmp_path, []))
    assert str(caught.value).startswith("Cohort churn: ")


def test_missing_snapshot_is_a_state_error(engine: DiffEngine, tmp_path: Path) -> None:
    members = RecordedMembers("c", tmp_path / "gone.parquet", [], [], 3)
    with pytest.raises(StateError, match="Recorded members of cohort c"):
        engine.diff("c", csv_source(tmp_path, ["a"]), members)


def test_a_row_repeating_the_header_is_skipped_and_located(
    engine: DiffEngine, tmp_path: Path
) -> None:
    # Two exports concatenated: the second header must never become a member.
    path = tmp_path / "desired.csv"
    path.write_text("user_id,n\nu1,1\nu2,2\nuser_id,n\nu3,3\n", encoding="utf-8")
    source = FileSource(path=path, format="csv", column="user_id")
    diff = engine.diff("c", source, recorded(tmp_path, None))
    assert diff.to_add.to_pylist() == ["u1", "u2", "u3"]
    assert dict(diff.skipped) == {"repeated_header": 1}
    assert [i.where.rsplit(":", 1)[1] for i in diff.issues] == ["4"]
    assert "repeats the header" in diff.issues[0].message
