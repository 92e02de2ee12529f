"""Connections to the warehouses the diff runs in: DuckDB files and PostgreSQL.

Each runs SQL compiled from the ibis expression (:mod:`cohortops.diff.warehouse_sql`), streams
its result as Arrow batches, and holds the few statements that build a mirror table. The URL
is the cohort's ``source.sql.url``; errors name it masked and never carry its secrets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from cohortops.config.model import SqlSource
from cohortops.errors import SourceError
from cohortops.sources.hygiene import one_line

BATCH_ROWS = 50_000
RESULT_SCHEMA = pa.schema([("kind", pa.int32()), ("id", pa.string()), ("n", pa.int64())])
_INTS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_INTS |= {"UBIGINT"}
_PG_TEXT = {25, 1043, 1042, 19}  # text, varchar, bpchar, name
_PG_INTS = {20, 21, 23}
_PG_UUID = 2950


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse(Protocol):
    dialect: str
    label: str  # the masked URL, for messages

    def column_kind(self, query: str, column: str | None) -> tuple[str, str]:
        """``(column name, kind)`` of the query's id column: string, int64, uuid or other."""
        ...

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]: ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def execute(self, statement: str) -> None: ...

    def script(self, statements: list[str]) -> None:
        """Run statements in one transaction."""
        ...

    def transaction(self) -> Any:
        """A context manager: the statements and queries it wraps commit together or not at all."""
        ...

    def index(self, schema: str, table: str) -> None:
        """Make a freshly filled mirror table fast to join (outside any transaction)."""
        ...

    def ids_table(self, name: str, ids: pa.Array) -> Any:
        """A context manager: ``name`` is a table of the ``ids`` for the queries it wraps."""
        ...

    def load(self, schema: str, table: str, snapshot: Path | None) -> None:
        """Fill the (new, empty) table ``schema.table (id)`` with the snapshot's ids."""
        ...

    def close(self) -> None: ...


def _fail(label: str, cohort_id: str, exc: BaseException, what: str) -> SourceError:
    return SourceError(
        f"Cohort {cohort_id}: {what} on {label} failed: {one_line(str(exc))}.",
        hint="Check the warehouse (the cohort's `source.sql.url`) and the mirror schema.",
    )


class DuckDBWarehouse:
    dialect = "duckdb"

    def __init__(
        self, database: str, label: str, cohort_id: str, config: dict[str, str] | None = None
    ) -> None:
        """``config``: DuckDB settings from the URL's query (``?memory_limit=1GB&threads=2``)."""
        import duckdb

        self.label, self._cohort = label, cohort_id
        self._duckdb = duckdb
        try:
            # The diff's rows are grouped, their order is meaningless: not keeping it lets
            # DuckDB stream and spill with less memory. The URL may say otherwise.
            settings: dict[str, Any] = {"preserve_insertion_order": "false", **(config or {})}
            self.con = duckdb.connect(database, config=settings)
        except duckdb.Error as exc:
            raise _fail(label, cohort_id, exc, "connecting") from None

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except self._duckdb.Error as exc:
            raise _fail(self.label, self._cohort, exc, what) from None

    def column_kind(self, query: str, column: str | None) -> tuple[str, str]:
        with self._errors("the cohort's query"):
            rel = self.con.sql(query)
            names, types = rel.columns, [str(t) for t in rel.types]
        index = _pick(names, column, self._cohort)
        kind = types[index]
        if kind == "VARCHAR":
            return names[index], "string"
        return names[index], "int64" if kind in _INTS else "other"

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        with self._errors("the diff query"):
            reader = self.con.sql(sql).to_arrow_reader(BATCH_ROWS)
            try:
                yield from reader
            except OSError as exc:
                # an error met while streaming (out of memory, `error()` in the cohort's
                # query) reaches Python through Arrow's stream reader as a plain OSError
                raise _fail(self.label, self._cohort, exc, "the diff query") from None

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self._errors("a query"):
            return list(self.con.sql(sql).fetchall())

    def execute(self, statement: str) -> None:
        with self._errors("updating the mirror"):
            self.con.execute(statement)

    def script(self, statements: list[str]) -> None:
        with self.transaction():
            for statement in statements:
                self.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors("updating the mirror"):
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    def index(self, schema: str, table: str) -> None:
        """Nothing: DuckDB joins by hashing, an index (ART) would only cost memory at push."""

    @contextmanager
    def ids_table(self, name: str, ids: pa.Array) -> Iterator[None]:
        self.con.register(name, pa.table({"id": ids}))
        try:
            yield
        finally:
            self.con.unregister(name)

    def load(self, schema: str, table: str, snapshot: Path | None) -> None:
        if snapshot is None:
            return
        path = str(snapshot).replace("'", "''")
        with self._errors("filling the mirror"):
            self.con.execute(
                f"INSERT INTO {quote(schema)}.{quote(table)} "
                f"SELECT id::VARCHAR FROM read_parquet('{path}')"
            )

    def close(self) -> None:
        self.con.close()


class PostgresWarehouse:
    dialect = "postgres"

    def __init__(self, conninfo: str, label: str, cohort_id: str) -> None:
        import psycopg

        self.label, self._cohort = label, cohort_id
        self._psycopg = psycopg
        try:
            self.con = psycopg.connect(conninfo, connect_timeout=10, autocommit=True)
        except psycopg.Error as exc:
            raise _fail(label, cohort_id, exc, "connecting") from None

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except self._psycopg.Error as exc:
            raise _fail(self.label, self._cohort, exc, what) from None

    def column_kind(self, query: str, column: str | None) -> tuple[str, str]:
        with self._errors("the cohort's query"), self.con.cursor() as cur:
            cur.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")
            described = cur.description or []
        names = [d.name for d in described]
        index = _pick(names, column, self._cohort)
        oid = described[index].type_code
        if oid in _PG_TEXT:
            return names[index], "string"
        if oid in _PG_INTS:
            return names[index], "int64"
        return names[index], "uuid" if oid == _PG_UUID else "other"

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        with (
            self._errors("the diff query"),
            self.con.transaction(),
            self.con.cursor(name="cohortops_diff") as cur,
        ):
            cur.itersize = BATCH_ROWS
            # a cursor plans for its first 10% by default: this one is read to the end
            self.con.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            cur.execute(sql)
            while rows := cur.fetchmany(BATCH_ROWS):
                kinds, ids, ns = zip(*rows, strict=True)
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.array(kinds, pa.int32()),
                        pa.array(ids, pa.string()),
                        pa.array(ns, pa.int64()),
                    ],
                    schema=RESULT_SCHEMA,
                )

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self._errors("a query"), self.con.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def execute(self, statement: str) -> None:
        with self._errors("updating the mirror"):
            self.con.execute(statement)

    def script(self, statements: list[str]) -> None:
        with self.transaction():
            for statement in statements:
                self.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors("updating the mirror"), self.con.transaction():
            yield

    def index(self, schema: str, table: str) -> None:
        """A primary key (also a last guard against duplicates), statistics, and the visibility
        map, so the planner can merge-join an index-only scan of the mirror."""
        name = f"{quote(schema)}.{quote(table)}"
        with self._errors("indexing the mirror"):
            # a fresh constraint name: the swapped-out table's index keeps its own until dropped
            key = quote(f"cohortops_pk_{uuid.uuid4().hex[:16]}")
            self.con.execute(f"ALTER TABLE {name} ADD CONSTRAINT {key} PRIMARY KEY (id)")
            self.con.execute(f"VACUUM (ANALYZE) {name}")

    @contextmanager
    def ids_table(self, name: str, ids: pa.Array) -> Iterator[None]:
        with self._errors("loading the recorded changes"):
            self.con.execute(f"CREATE TEMP TABLE {quote(name)} (id text)")
            self._copy(f"COPY {quote(name)} (id) FROM STDIN", [ids])
        try:
            yield
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {quote(name)}")

    def _copy(self, statement: str, arrays: Any) -> None:
        with self.con.cursor() as cur, cur.copy(statement) as copy:
            for array in arrays:
                values = [v for v in array.to_pylist() if v is not None]
                if values:
                    copy.write("".join(_copy_text(v) + "\n" for v in values))

    def load(self, schema: str, table: str, snapshot: Path | None) -> None:
        if snapshot is None:
            return
        import pyarrow.parquet as pq

        batches = (
            b.column(0)
            for b in pq.ParquetFile(snapshot).iter_batches(batch_size=100_000, columns=["id"])
        )
        with self._errors("filling the mirror"):
            self._copy(f"COPY {quote(schema)}.{quote(table)} (id) FROM STDIN", batches)

    def close(self) -> None:
        self.con.close()


def _copy_text(value: str) -> str:
    """A value in COPY's text format (mirror ids are clean: no control characters)."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )


def _pick(names: list[str], column: str | None, cohort_id: str) -> int:
    if names and column is None:
        return 0
    if column in names:
        return names.index(column)
    raise SourceError(
        f"Cohort {cohort_id}: the SQL query returns no column '{column}' "
        f"(columns: {', '.join(names) or 'none'}).",
        hint="Set `source.column` to one of them or alias the column in the query.",
    )


def connect(source: SqlSource, cohort_id: str) -> Warehouse:
    """The warehouse a ``diff: warehouse`` source's URL points at."""
    from cohortops.sources.sql import _parse, mask_url

    revealed = source.url.reveal()
    url = _parse(revealed, cohort_id)
    label = mask_url(url)
    backend = url.get_backend_name()
    if backend == "duckdb":
        config = {k: str(v) for k, v in url.query.items()}
        return DuckDBWarehouse(url.database or ":memory:", label, cohort_id, config)
    if backend in ("postgresql", "postgres"):
        from psycopg.conninfo import make_conninfo

        parts = {
            "host": url.host,
            "port": url.port,
            "dbname": url.database,
            "user": url.username,
            "password": url.password,
            **{k: str(v) for k, v in url.query.items()},  # e.g. options=-c work_mem=256MB
        }
        conninfo = make_conninfo("", **{k: v for k, v in parts.items() if v is not None})
        return PostgresWarehouse(conninfo, label, cohort_id)
    raise SourceError(
        f"Cohort {cohort_id}: `diff: warehouse` runs on DuckDB and PostgreSQL URLs, not "
        f"'{url.drivername}'.",
        hint="Use `diff: local` for this source (the SQL for other engines is compiled and "
        "checked, but not run by cohortops yet).",
    )
