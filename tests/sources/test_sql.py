"""SQL sources: SQLite and DuckDB files, PostgreSQL on 127.0.0.1, errors that hide secrets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa

from cohortops.config.model import Secret, SqlSource
from cohortops.errors import SourceError
from cohortops.sources import read_source_arrow
from cohortops.sources.sql import (
    BATCH_SCHEMA,
    mask_url,
    normalize_url,
    positioned_batch,
    sql_batches,
)


def sqlite_db(tmp_path: Path, values: list[object]) -> str:
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as db:
        db.execute("create table users (user_id, other)")
        db.executemany("insert into users values (?, 1)", [(v,) for v in values])
    return f"sqlite:///{path}"


def batches(source: SqlSource, chunk_rows: int = 50_000) -> pa.Table:
    return pa.Table.from_batches(
        list(sql_batches(source, "c", chunk_rows=chunk_rows)), BATCH_SCHEMA
    )


def test_sqlite_rows_in_chunks_with_types(tmp_path: Path) -> None:
    url = sqlite_db(tmp_path, [" a", 12, 2.5, None, b"x", "a"])
    table = batches(SqlSource(url=Secret(url), query="select user_id from users"), chunk_rows=2)
    assert table.column("pos").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert table.column("raw").to_pylist() == [" a", "12", None, None, None, "a"]
    assert table.column("flag").to_pylist() == [
        None,
        None,
        "not_string_or_integer",
        None,
        "not_string_or_integer",
        None,
    ]
    desired = read_source_arrow(SqlSource(url=Secret(url), query="select * from users"), "c")
    assert desired.ids.to_pylist() == ["a", "12"]
    assert desired.duplicates == 1
    assert [i.where for i in desired.issues] == ["sql row 3", "sql row 4", "sql row 5"]


def test_named_column_and_missing_column(tmp_path: Path) -> None:
    url = sqlite_db(tmp_path, ["a"])
    named = SqlSource(url=Secret(url), query="select other, user_id from users", column="user_id")
    assert read_source_arrow(named, "c").ids.to_pylist() == ["a"]
    missing = SqlSource(url=Secret(url), query="select other from users", column="user_id")
    with pytest.raises(SourceError, match="returns no column 'user_id' \\(columns: other\\)"):
        read_source_arrow(missing, "c")


def test_query_error_and_statement_without_rows(tmp_path: Path) -> None:
    url = sqlite_db(tmp_path, ["a"])
    with pytest.raises(
        SourceError, match=r"^Cohort c: the SQL query failed on sqlite:///.*no such table"
    ):
        read_source_arrow(SqlSource(url=Secret(url), query="select x from nope"), "c")
    with pytest.raises(SourceError, match="returns no column"):
        read_source_arrow(SqlSource(url=Secret(url), query="create table t2 (x)"), "c")


def test_duckdb_url_reads_with_the_duckdb_module(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.sql(
            "create table u as select * from (values (1::bigint, 'x'), (2, 'y'), (null, 'z')) t(n, s)"
        )
    numbers = read_source_arrow(
        SqlSource(url=Secret(f"duckdb:///{path}"), query="select n from u"), "c"
    )
    assert numbers.ids.to_pylist() == ["1", "2"] and numbers.skipped == {"empty": 1}
    strings = SqlSource(url=Secret(f"duckdb:///{path}"), query="select n, s from u", column="s")
    assert read_source_arrow(strings, "c").ids.to_pylist() == ["x", "y", "z"]
    doubles = SqlSource(url=Secret(f"duckdb:///{path}"), query="select 1.5::double as d")
    assert read_source_arrow(doubles, "c").skipped == {"not_string_or_integer": 1}
    with pytest.raises(SourceError, match="the SQL query failed on duckdb:///"):
        read_source_arrow(
            SqlSource(url=Secret(f"duckdb:///{path}"), query="select * from nope"), "c"
        )
    with pytest.raises(SourceError, match="cannot connect to duckdb:///"):
        read_source_arrow(
            SqlSource(url=Secret(f"duckdb:///{tmp_path}/absent.duckdb"), query="select 1"), "c"
        )


def test_url_helpers() -> None:
    url = sa.engine.make_url("postgresql://me:hunter2@db:5432/w?sslmode=require&api_token=t0k")
    assert normalize_url(url).drivername == "postgresql+psycopg"
    assert (
        normalize_url(sa.engine.make_url("postgresql+psycopg2://h/db")).drivername
        == "postgresql+psycopg2"
    )
    masked = mask_url(url)
    assert "hunter2" not in masked and "t0k" not in masked
    assert masked.startswith("postgresql://me:***@db:5432/w?")
    assert "sslmode=require" in masked


def test_bad_urls_are_source_errors() -> None:
    with pytest.raises(SourceError, match="not a valid SQLAlchemy URL"):
        list(sql_batches(SqlSource(url=Secret("not a url"), query="select 1"), "c"))
    with pytest.raises(SourceError, match="no SQLAlchemy driver for 'nosuchdb'"):
        list(sql_batches(SqlSource(url=Secret("nosuchdb://h/db"), query="select 1"), "c"))


def test_unreachable_postgres_hides_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_PW", "s3cr3t-pw")
    source = SqlSource(
        url=Secret("postgresql://reader:${env:WAREHOUSE_PW}@127.0.0.1:1/w"), query="select 1"
    )
    with pytest.raises(SourceError) as caught:
        read_source_arrow(source, "power-users")
    message = str(caught.value)
    assert message.startswith(
        "Cohort power-users: cannot connect to postgresql://reader:***@127.0.0.1:1/w: connection failed"
    )
    assert "s3cr3t-pw" not in message and "\n" not in message
    assert "s3cr3t-pw" not in repr(source) and "s3cr3t-pw" not in source.describe()


@pytest.mark.postgres
def test_postgres_streams_in_chunks(postgres_url: str) -> None:
    query = "select 'u' || g as id from generate_series(1, 120000) g where 'x%' like 'x%'"
    source = SqlSource(url=Secret(postgres_url), query=query)
    parts = list(sql_batches(source, "c"))
    assert [b.num_rows for b in parts] == [50_000, 50_000, 20_000]
    assert parts[-1].column("pos").to_pylist()[-1] == 120_000
    desired = read_source_arrow(source, "c")
    assert desired.count == 120_000


@pytest.mark.postgres
def test_postgres_types_and_errors(postgres_url: str) -> None:
    query = "select * from (values (1::bigint), (null), (3)) t(n)"
    assert read_source_arrow(
        SqlSource(url=Secret(postgres_url), query=query), "c"
    ).ids.to_pylist() == [
        "1",
        "3",
    ]
    uuid_query = "select '00000000-0000-0000-0000-000000000001'::uuid as u"
    assert read_source_arrow(SqlSource(url=Secret(postgres_url), query=uuid_query), "c").count == 1
    with pytest.raises(SourceError, match=r"the SQL query failed on postgresql://.*nope"):
        read_source_arrow(SqlSource(url=Secret(postgres_url), query="select * from nope"), "c")


def test_positioned_batches_number_rows_from_one_after_start() -> None:
    raw = pa.array(["a", None, "c"], pa.string())
    flag = pa.array([None, "missing_id_field", None], pa.string())
    batch = positioned_batch(raw, flag, 7)
    assert batch.schema == BATCH_SCHEMA
    assert batch.to_pydict() == {
        "pos": [8, 9, 10],
        "raw": ["a", None, "c"],
        "flag": [None, "missing_id_field", None],
    }
