"""The warehouse engine on a DuckDB file and on PostgreSQL: same answers as the local engines.

The property test writes random source rows (padding, empties, NULLs, duplicates, ids over the
length limit, control characters, unicode) into a table of the warehouse and random recorded
sets (snapshot + deltas) on this side, and checks every field of the warehouse engine's
MemberDiff against the Python reference engine, which reads the same rows through the
``diff: local`` path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pgsupport import RUN_ID, next_schema_number

from cohortops.config.model import Secret, SqlSource
from cohortops.diff.engine import DiffEngine, make_engine
from cohortops.diff.mirror import META_TABLE, mirror_table, read_mirror
from cohortops.diff.warehouse_conn import connect
from cohortops.diff.warehouse_engine import WarehouseDiffEngine
from cohortops.errors import SourceError, StateError
from cohortops.state.snapshot import RecordedMembers

from .test_properties import SETTINGS, as_tuple, raw_value, recorded_sets

# Each example builds a table and a mirror in the warehouse: fewer than the file tests.
WAREHOUSE_SETTINGS = settings(SETTINGS, max_examples=max(5, SETTINGS.max_examples // 2))

_tables = itertools.count(1)


class Place:
    """A warehouse under test: where source tables go and the URL that reaches it."""

    def __init__(self, kind: str, url: str, schema: str) -> None:
        self.kind, self.url, self.schema = kind, url, schema

    def table(self, values: list[Any], sql_type: str = "VARCHAR") -> str:
        """A new table ``(pos, v)`` holding ``values``; returns its qualified name."""
        name = f"{self.schema}.src_{next(_tables)}"
        if self.kind == "duckdb":
            con = duckdb.connect(self.url.removeprefix("duckdb:///"))
            try:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                rows = pa.table({"pos": range(len(values)), "v": pa.array(values)})
                con.register("rows", rows)
                con.execute(f"CREATE TABLE {name} AS SELECT pos, v::{sql_type} AS v FROM rows")
            finally:
                con.close()
            return name
        with psycopg.connect(self.url, autocommit=True) as pg:
            pg.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            pg.execute(f"CREATE TABLE {name} (pos BIGINT, v {sql_type})")
            with pg.cursor() as cur:
                cur.executemany(f"INSERT INTO {name} VALUES (%s, %s)", list(enumerate(values)))
        return name

    def source(self, table: str, **kw: Any) -> SqlSource:
        query = f"SELECT v FROM {table} ORDER BY pos"
        return SqlSource(
            url=Secret(self.url), query=query, diff="warehouse", mirror_schema=self.schema, **kw
        )


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Place:
    if request.param == "duckdb":
        path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
        return Place("duckdb", f"duckdb:///{path}", "cohortops")
    url = request.getfixturevalue("postgres_url")
    return Place("postgres", url, f"cohortops_test_{RUN_ID}_{next_schema_number()}")


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[DiffEngine, DiffEngine]]:
    warehouse, python = make_engine("duckdb", memory_limit="128MB"), make_engine("python")
    yield warehouse, python
    warehouse.close()
    python.close()


def snapshot_file(folder: Path, ids: list[str] | None) -> Path | None:
    """Named like the store's snapshots: by content, so a new set is a new name."""
    if ids is None:
        return None
    digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:12]
    path = folder / f"c-1-{digest}.parquet"
    pq.write_table(pa.table({"id": pa.array(sorted(ids), pa.string())}), path)
    return path


def recorded_members(
    folder: Path, snapshot: list[str] | None, added: list[str], removed: list[str]
) -> RecordedMembers:
    count = len((set(snapshot or []) | set(added)) - set(removed))
    return RecordedMembers("c", snapshot_file(folder, snapshot), added, removed, count)


def check(
    engines: tuple[DiffEngine, DiffEngine], source: SqlSource, recorded: RecordedMembers
) -> None:
    warehouse, python = engines
    got = warehouse.diff("c", source, recorded)
    expected = python.diff("c", dataclasses.replace(source, diff="local"), recorded)
    assert as_tuple(got) == as_tuple(expected)
    assert got.to_add.type == pa.string() and got.to_remove.type == pa.string()


@SETTINGS
@given(values=st.lists(st.one_of(raw_value, st.none()), max_size=60), recorded=recorded_sets())
def test_warehouse_agrees_with_local(
    place: Place,
    engines: tuple[DiffEngine, DiffEngine],
    values: list[str | None],
    recorded: tuple[list[str] | None, list[str], list[str]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = place.source(place.table(values))
        check(engines, source, recorded_members(Path(tmp), *recorded))


def test_an_error_while_streaming_is_one_line_on_duckdb(tmp_path: Path) -> None:
    # An error met once the result streams (out of memory, `error()` in the cohort's query)
    # reaches Python through Arrow's reader as an OSError, not a duckdb.Error: it must still
    # become the cohort's one-line error, not a traceback.
    query = (
        "SELECT CASE WHEN range < 200000 THEN 'u' || range ELSE error('bad row') END AS v "
        "FROM range(300000)"
    )
    url = Secret(f"duckdb:///{tmp_path / 'err.duckdb'}")
    wh = connect(SqlSource(url=url, query=query, diff="warehouse"), "e")
    try:
        with pytest.raises(SourceError, match=r"Cohort e: the diff query on .* failed: .*bad row"):
            list(wh.batches(query))
    finally:
        wh.close()


def test_nul_is_a_control_character_on_duckdb(
    engines: tuple[DiffEngine, DiffEngine], tmp_path: Path
) -> None:
    place = Place("duckdb", f"duckdb:///{tmp_path / 'nul.duckdb'}", "cohortops")
    source = place.source(place.table(["a\x00b", "ok"]))
    check(engines, source, recorded_members(tmp_path, ["x"], [], []))


@pytest.mark.parametrize("sql_type", ["BIGINT", "INTEGER", "DATE"])
def test_integer_and_other_columns(
    place: Place, engines: tuple[DiffEngine, DiffEngine], tmp_path: Path, sql_type: str
) -> None:
    values: list[Any] = [1, 2, 2, None, -7] if sql_type != "DATE" else ["2024-01-01", None]
    source = place.source(place.table(values, sql_type))
    check(engines, source, recorded_members(tmp_path, ["1", "9"], ["-7"], ["2"]))


def test_mirror_is_built_once_then_rebuilt_for_a_new_snapshot(place: Place, tmp_path: Path) -> None:
    engine = WarehouseDiffEngine(make_engine("python"))
    source = place.source(place.table(["a", "b"]), column="v")
    first = recorded_members(tmp_path, ["a", "z"], [], [])
    assert engine.diff("m1", source, first).to_remove.to_pylist() == ["z"]
    assert len(engine.pushed) == 1
    engine.diff("m1", source, first)
    assert len(engine.pushed) == 1  # current: trusted, not pushed again
    second = recorded_members(tmp_path, ["a", "b", "z", "y"], [], [])
    assert engine.diff("m1", source, second).to_remove.to_pylist() == ["y", "z"]
    assert [p.row_count for p in engine.pushed] == [2, 4]
    wh = connect(source, "m1")
    try:
        info = read_mirror(wh, place.schema, "m1")
        assert info is not None and info.table == mirror_table("m1") and info.row_count == 4
        tables = wh.rows(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = '{place.schema}' AND table_name LIKE '%build%'"
        )
        assert tables == []  # build-then-swap leaves no build table behind
    finally:
        wh.close()


def test_a_changed_mirror_is_refused(place: Place, tmp_path: Path) -> None:
    engine = WarehouseDiffEngine(make_engine("python"))
    source = place.source(place.table(["a"]))
    recorded = recorded_members(tmp_path, ["a", "b"], [], [])
    engine.diff("m2", source, recorded)
    wh = connect(source, "m2")
    try:
        wh.script([f"DELETE FROM {place.schema}.{mirror_table('m2')} WHERE id = 'b'"])
    finally:
        wh.close()
    with pytest.raises(StateError, match="changed outside cohortops") as caught:
        engine.diff("m2", source, recorded)
    assert "push-mirror m2" in (caught.value.hint or "")


def test_without_rebuild_a_missing_mirror_is_refused(place: Place, tmp_path: Path) -> None:
    engine = WarehouseDiffEngine(make_engine("python"), rebuild=False)
    source = place.source(place.table(["a"]))
    with pytest.raises(StateError, match="mirror of cohort m3 is missing"):
        engine.diff("m3", source, recorded_members(tmp_path, ["a"], [], []))
    wh = connect(source, "m3")
    try:
        names = [r[0] for r in wh.rows(f"SELECT cohort_id FROM {place.schema}.{META_TABLE}")]
        assert "m3" not in names
    finally:
        wh.close()


def test_errors_name_the_cohort_and_hide_the_url(place: Place, tmp_path: Path) -> None:
    engine = WarehouseDiffEngine(make_engine("python"))
    source = place.source(place.table(["a"]), column="nope")
    with pytest.raises(SourceError, match="returns no column 'nope'"):
        engine.diff("c", source, recorded_members(tmp_path, None, [], []))
    broken = dataclasses.replace(source, query="SELECT FROM WHERE", column=None)
    with pytest.raises(SourceError, match="Cohort c: the cohort's query on") as caught:
        engine.diff("c", broken, recorded_members(tmp_path, None, [], []))
    assert "password" not in str(caught.value)
