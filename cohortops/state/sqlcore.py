"""The SQL core both backends share: one connection, transactions, serial bumps and fencing.

A store owns one :class:`Db`. Every statement runs inside :meth:`Db.read` or :meth:`Db.write`
under one mutex, because the group-commit writer thread and the caller's thread share the
connection. SQL is written once with ``?`` placeholders; :class:`Dialect` adapts it.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cohortops.errors import StateError
from cohortops.state import schema
from cohortops.state.codec import ts
from cohortops.state.logs import GENESIS_HASH, StoreOptions

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" | "postgres"
    types: schema.Types
    begin_read: str
    begin_write: str
    lock_meta: str  # serialises writers that do not bump the serial (lock bookkeeping)

    def sql(self, text: str) -> str:
        return text if self.name == "sqlite" else text.replace("?", "%s")


SQLITE = Dialect(
    name="sqlite",
    types=schema.SQLITE_TYPES,
    begin_read="BEGIN",
    begin_write="BEGIN IMMEDIATE",
    lock_meta="SELECT id FROM cohortops_meta WHERE id = 1",
)
POSTGRES = Dialect(
    name="postgres",
    types=schema.POSTGRES_TYPES,
    begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    begin_write="BEGIN",
    lock_meta="SELECT id FROM cohortops_meta WHERE id = 1 FOR UPDATE",
)


class Tx:
    """One open transaction; statements use ``?`` placeholders in both dialects."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cur = cursor
        self.dialect = dialect
        self.serial: int | None = None  # the serial this write commits, when it bumps

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(self.dialect.sql(sql), tuple(params))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cur.execute(self.dialect.sql(sql), tuple(params))
        return [tuple(row) for row in self._cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._cur.execute(self.dialect.sql(sql), tuple(params))
        row = self._cur.fetchone()
        return None if row is None else tuple(row)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Insert many rows at once."""
        if not rows:
            return
        cols = ", ".join(columns)
        if self.dialect.name == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self._cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
            return
        # COPY: per-row INSERTs cost a round trip each, and array parameters are escaped in
        # Python; psycopg's C row formatter is an order of magnitude faster.
        with self._cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


class Db:
    """A connection shared by the caller's thread and the writer thread."""

    def __init__(
        self,
        conn: Any,
        dialect: Dialect,
        location: str,
        driver_errors: tuple[type[BaseException], ...],
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.conn = conn
        self.dialect = dialect
        self.location = location  # "sqlite state .cohortops/state.db", never a password
        self._driver_errors = driver_errors
        self._redact = redact
        self.mutex = threading.RLock()
        self._in_tx = False

    def error(self, exc: BaseException, doing: str) -> StateError:
        detail = self._redact(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        return StateError(f"State error while {doing} ({self.location}): {detail}.")

    @contextmanager
    def transaction(self, begin: str, doing: str) -> Iterator[Tx]:
        """A raw transaction opened with ``begin``; prefer :meth:`read` and :meth:`write`."""
        with self.mutex:
            if self._in_tx:
                raise RuntimeError("nested state transaction")
            self._in_tx = True
            cursor = None
            try:
                if self.dialect.name == "postgres":
                    # Binary results: as text, every bytea (member blobs, snapshot chunks)
                    # would travel hex-encoded at twice its size.
                    cursor = self.conn.cursor(binary=True)
                else:
                    cursor = self.conn.cursor()
                cursor.execute(begin)
                tx = Tx(cursor, self.dialect)
                try:
                    yield tx
                except BaseException:
                    self._rollback(cursor)
                    raise
                cursor.execute("COMMIT")
            except self._driver_errors as exc:
                if cursor is not None:
                    self._rollback(cursor)
                raise self.error(exc, doing) from exc
            finally:
                if cursor is not None:
                    cursor.close()
                self._in_tx = False

    def _rollback(self, cursor: Any) -> None:
        # The transaction may already be gone (e.g. the connection dropped).
        with contextlib.suppress(*self._driver_errors):
            cursor.execute("ROLLBACK")

    @contextmanager
    def read(self, doing: str = "reading the state") -> Iterator[Tx]:
        with self.transaction(self.dialect.begin_read, doing) as tx:
            yield tx

    @contextmanager
    def write(
        self, *, fence: str | None, bump: bool = True, doing: str = "writing the state"
    ) -> Iterator[Tx]:
        """A write transaction; ``fence`` is the lock id that must still hold the state.

        The serial bump comes first: its row lock serialises writers in PostgreSQL, and the
        fencing check after it then sees any ``state unlock`` that committed meanwhile.
        """
        with self.transaction(self.dialect.begin_write, doing) as tx:
            if bump:
                tx.serial = int(
                    tx.scalar("UPDATE cohortops_meta SET serial = serial + 1 RETURNING serial")
                )
            else:
                tx.execute(self.dialect.lock_meta)
            if fence is not None:
                holder = tx.scalar("SELECT lock_id FROM cohortops_lock WHERE id = 1")
                if holder != fence:
                    raise StateError(
                        f"Lock {fence} no longer holds the state ({self.location}): it was "
                        "removed with `cohortops state unlock`, so this run stopped writing.",
                        hint="Plan again; changes that were not recorded will be re-sent.",
                    )
            yield tx

    def close(self) -> None:
        with self.mutex, contextlib.suppress(*self._driver_errors):
            self.conn.close()


def ensure_schema(tx: Tx, options: StoreOptions, location: str) -> None:
    """Create the tables and the identity row when missing; refuse newer schema versions."""
    for statement in schema.statements(tx.dialect.types):
        tx.execute(statement)
    row = tx.one("SELECT schema_version FROM cohortops_meta WHERE id = 1")
    if row is None:
        tx.execute(
            "INSERT INTO cohortops_meta (id, schema_version, lineage, serial, created_at, "
            "audit_head_hash) VALUES (1, ?, ?, 0, ?, ?)",
            (schema.SCHEMA_VERSION, str(uuid.uuid4()), ts(options.clock()), GENESIS_HASH),
        )
    elif int(row[0]) > schema.SCHEMA_VERSION:
        raise StateError(
            f"The state at {location} has schema version {row[0]}, newer than this cohortops "
            f"understands ({schema.SCHEMA_VERSION}).",
            hint="Upgrade cohortops.",
        )
    else:
        for version in range(int(row[0]) + 1, schema.SCHEMA_VERSION + 1):
            for statement in schema.MIGRATIONS.get(version, ()):
                tx.execute(statement)
            tx.execute("UPDATE cohortops_meta SET schema_version = ? WHERE id = 1", (version,))
