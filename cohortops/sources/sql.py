"""SQL sources: any SQLAlchemy URL, plus ``duckdb:///path.db`` through the duckdb module.

Rows are streamed (server-side cursor / ``yield_per``) and turned into Arrow batches of
:data:`BATCH_SCHEMA`: the 1-based row number, the value as text and, for a value that is neither
a string nor an integer, the reason it is rejected. Hygiene proper happens downstream.

The URL is revealed only here, and no message shows it: errors name the masked URL and any
password that a driver echoes is scrubbed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # SQLAlchemy costs ~0.3 s to import: only SQL sources pay for it
    from sqlalchemy.engine import URL

from cohortops.config.model import SqlSource
from cohortops.errors import SourceError
from cohortops.sources.hygiene import BAD_TYPE, one_line, scalar_to_raw

CHUNK_ROWS = 50_000
CONNECT_TIMEOUT_S = 10
BATCH_SCHEMA = pa.schema([("pos", pa.int64()), ("raw", pa.string()), ("flag", pa.string())])


def positioned_batch(raw: pa.Array, flag: pa.Array, start: int) -> pa.RecordBatch:
    """A ``BATCH_SCHEMA`` batch of ``raw`` values and their rejection ``flag``s, numbered from
    ``start + 1``: every source's positions count rows the same way."""
    positions = pa.array(range(start + 1, start + 1 + len(raw)), pa.int64())
    return pa.RecordBatch.from_arrays([positions, raw, flag], schema=BATCH_SCHEMA)


_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


def _parse(url: str, cohort_id: str) -> URL:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise SourceError(
            f"Cohort {cohort_id}: the SQL source URL is not a valid SQLAlchemy URL.",
            hint="Use the form dialect+driver://user:password@host/database.",
        ) from None


def normalize_url(url: URL) -> URL:
    """``postgresql://`` and ``postgres://`` use psycopg 3, the driver cohortops ships with."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def mask_url(url: URL) -> str:
    """The URL with its password and any secret-looking query parameter shown as ``***``."""
    query = {k: ("***" if _SECRET_PARAM.search(k) else v) for k, v in url.query.items()}
    return url.set(query=query).render_as_string(hide_password=True)


class _Scrubber:
    """Builds one-line error messages that cannot carry the URL's secrets."""

    def __init__(self, url: URL, revealed: str, source: SqlSource, cohort_id: str) -> None:
        self.cohort_id = cohort_id
        self.masked = mask_url(url)
        self.secrets = [s for s in (revealed, url.password) if s]
        self.secrets += [str(v) for k, v in url.query.items() if _SECRET_PARAM.search(k) and v]
        self.source = source

    def clean(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(str(secret), "***")
        return one_line(text)

    def unreachable(self, exc: BaseException) -> SourceError:
        detail = self.clean(str(getattr(exc, "orig", None) or exc))
        return SourceError(
            f"Cohort {self.cohort_id}: cannot connect to {self.masked}: {detail}.",
            hint="Check the URL and its credentials and that the database is running.",
        )

    def failed(self, exc: BaseException) -> SourceError:
        detail = self.clean(str(getattr(exc, "orig", None) or exc))
        return SourceError(
            f"Cohort {self.cohort_id}: the SQL query failed on {self.masked}: {detail}.",
            hint="Fix the cohort's `source.sql.query` (try it in a SQL client first).",
        )

    def no_column(self, names: Sequence[str]) -> SourceError:
        return SourceError(
            f"Cohort {self.cohort_id}: the SQL query returns no column "
            f"'{self.source.column}' (columns: {', '.join(names) or 'none'}).",
            hint="Set `source.column` to one of them or alias the column in the query.",
        )


def _column_index(names: Sequence[str], scrub: _Scrubber) -> int:
    if not names:
        raise scrub.no_column(names)
    if scrub.source.column is None:
        return 0
    if scrub.source.column in names:
        return list(names).index(scrub.source.column)
    raise scrub.no_column(names)


def _rows_to_batch(values: Sequence[Any], start: int) -> pa.RecordBatch:
    raws: list[str | None] = []
    flags: list[str | None] = []
    for value in values:
        raw, reason = scalar_to_raw(value)
        raws.append(raw)
        flags.append(reason)
    return positioned_batch(pa.array(raws, pa.string()), pa.array(flags, pa.string()), start)


def _arrow_to_batch(column: pa.Array, start: int) -> pa.RecordBatch:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.dictionary_decode(), kind.value_type
    n = len(column)
    if pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        raw = pc.cast(column, pa.string())
        flags = pa.nulls(n, pa.string())
    elif pa.types.is_null(kind):
        raw, flags = pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
    else:
        raw = pa.nulls(n, pa.string())
        flags = pc.if_else(pc.is_valid(column), pa.scalar(BAD_TYPE), pa.scalar(None, pa.string()))
    return positioned_batch(raw, flags, start)


def _duckdb_batches(url: URL, scrub: _Scrubber, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    database = url.database or ":memory:"
    try:
        con = duckdb.connect(database, read_only=database != ":memory:")
    except duckdb.Error as exc:
        raise scrub.unreachable(exc) from None
    with closing(con):
        try:
            reader = con.sql(scrub.source.query).to_arrow_reader(chunk_rows)
        except duckdb.Error as exc:
            raise scrub.failed(exc) from None
        except AttributeError:  # a statement that returns no result set
            raise scrub.no_column(()) from None
        index = _column_index(reader.schema.names, scrub)
        start = 0
        try:
            for batch in reader:
                yield _arrow_to_batch(batch.column(index), start)
                start += batch.num_rows
        except (duckdb.Error, pa.ArrowException) as exc:
            raise scrub.failed(exc) from None


def _sqlalchemy_batches(url: URL, scrub: _Scrubber, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        engine = sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError, ImportError) as exc:
        raise SourceError(
            f"Cohort {scrub.cohort_id}: no SQLAlchemy driver for '{url.drivername}' "
            f"({scrub.clean(str(exc))}).",
            hint="Install the dialect's package, or use a postgresql://, sqlite:// or duckdb:// URL.",
        ) from None
    try:
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise scrub.unreachable(exc) from None
        with conn:
            options = conn.execution_options(
                stream_results=True, yield_per=chunk_rows, no_parameters=True
            )
            try:
                result = options.exec_driver_sql(scrub.source.query)
                if not result.returns_rows:
                    raise scrub.no_column(())
                index = _column_index(list(result.keys()), scrub)
                start = 0
                for part in result.partitions(chunk_rows):
                    yield _rows_to_batch([row[index] for row in part], start)
                    start += len(part)
            except sa.exc.SQLAlchemyError as exc:
                raise scrub.failed(exc) from None
    finally:
        engine.dispose()


def sql_batches(
    source: SqlSource, cohort_id: str, *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pa.RecordBatch]:
    """Stream the query's identifier column as :data:`BATCH_SCHEMA` batches.

    Raises :class:`SourceError` (lazily, while iterating) when the database cannot be reached,
    the query fails or the column is missing.
    """
    revealed = source.url.reveal()
    written = _parse(revealed, cohort_id)
    url = normalize_url(written)
    scrub = _Scrubber(written, revealed, source, cohort_id)
    if url.get_backend_name() == "duckdb":
        return _duckdb_batches(url, scrub, chunk_rows)
    return _sqlalchemy_batches(url, scrub, chunk_rows)
