"""Warehouse targets of `cohortops export --to`: PostgreSQL (psycopg COPY) and DuckDB.

A missing table is created from the export's Arrow schema (text, bigint, timestamptz; audit
``data`` as jsonb in PostgreSQL and JSON in DuckDB). ``replace`` empties the table first, in
the same transaction as the load. Messages never show the URL's password.
"""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from cohortops.errors import CohortopsError


class ExportTargetError(CohortopsError):
    """The warehouse target could not be reached or written."""


class Target(Protocol):
    def max_value(self, table: str, column: str) -> int | None: ...

    def write(self, table: str, data: pa.Table, *, replace: bool) -> int: ...

    def close(self) -> None: ...


def _pg_type(field: pa.Field) -> str:
    if field.name == "data":
        return "JSONB"
    if pa.types.is_integer(field.type):
        return "BIGINT"
    if pa.types.is_timestamp(field.type):
        return "TIMESTAMPTZ"
    return "TEXT"


def _duck_type(field: pa.Field) -> str:
    if field.name == "data":
        return "JSON"
    if pa.types.is_integer(field.type):
        return "BIGINT"
    if pa.types.is_timestamp(field.type):
        return "TIMESTAMPTZ"
    return "VARCHAR"


def _parts(table: str) -> list[str]:
    parts = table.split(".")
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise ExportTargetError(f"--table {table!r}: give NAME or SCHEMA.NAME.")
    return parts


def _quoted(table: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in _parts(table))


class PostgresTarget:
    def __init__(self, url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        try:
            self.conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            for secret in (url, psycopg.conninfo.conninfo_to_dict(url).get("password")):
                if secret:
                    first = first.replace(str(secret), "***")
            raise ExportTargetError(f"Cannot reach the export target: {first}.") from None

    def _exists(self, table: str) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (_quoted(table),)).fetchone()
        return bool(row and row[0])

    def max_value(self, table: str, column: str) -> int | None:
        if not self._exists(table):
            return None
        row = self.conn.execute(f'SELECT max("{column}") FROM {_quoted(table)}').fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def write(self, table: str, data: pa.Table, *, replace: bool) -> int:
        name = _quoted(table)
        columns = ", ".join(f'"{f.name}" {_pg_type(f)}' for f in data.schema)
        names = ", ".join(f'"{f.name}"' for f in data.schema)
        with self.conn.transaction():
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
            if replace:
                self.conn.execute(f"DELETE FROM {name}")
            with self.conn.cursor() as cur, cur.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                for batch in data.to_batches(50_000):
                    for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                        copy.write_row(row)
        return int(data.num_rows)

    def close(self) -> None:
        self.conn.close()


class DuckTarget:
    def __init__(self, path: str) -> None:
        import duckdb

        try:
            self.con = duckdb.connect(path)
        except duckdb.Error as exc:
            raise ExportTargetError(
                f"Cannot open the DuckDB export target {path}: {exc}."
            ) from None

    def _exists(self, table: str) -> bool:
        parts = _parts(table)
        schema, name = (parts[0], parts[1]) if len(parts) == 2 else ("main", parts[0])
        rows = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ?",
            [schema, name],
        ).fetchone()
        return bool(rows and rows[0])

    def max_value(self, table: str, column: str) -> int | None:
        if not self._exists(table):
            return None
        row = self.con.execute(f'SELECT max("{column}") FROM {_quoted(table)}').fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def write(self, table: str, data: pa.Table, *, replace: bool) -> int:
        name = _quoted(table)
        columns = ", ".join(f'"{f.name}" {_duck_type(f)}' for f in data.schema)
        self.con.execute("BEGIN")
        try:
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
            if replace:
                self.con.execute(f"DELETE FROM {name}")
            self.con.register("cohortops_export", data)
            self.con.execute(f"INSERT INTO {name} SELECT * FROM cohortops_export")
            self.con.unregister("cohortops_export")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return int(data.num_rows)

    def close(self) -> None:
        self.con.close()


def target(url: str) -> Target:
    """The target for a ``postgresql://`` / ``postgres://`` or ``duckdb:///path`` URL."""
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+")[0].lower()
    if sep and base in ("postgresql", "postgres"):
        return PostgresTarget("postgresql://" + rest)
    if sep and base == "duckdb":
        path = rest[1:] if rest.startswith("/") else rest
        return DuckTarget(path or ":memory:")
    raise ExportTargetError(
        "--to takes a postgresql:// or duckdb:/// URL.",
        hint="e.g. --to duckdb:///warehouse.db or --to postgresql://user@host/db",
    )
