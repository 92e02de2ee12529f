"""PostgreSQL backend (psycopg 3): tables in the URL's current schema, advisory locks.

The tables live in ``current_schema()`` (choose one with ``?options=-csearch_path%3Dname`` in
the URL; it is created when missing). Advisory lock keys are derived from that schema's name,
so states in different schemas of one database never block each other. Snapshots are bytea
chunks, materialised into ``.cohortops/cache/<lineage>/`` to be read.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

from cohortops.config.model import StateConfig
from cohortops.errors import StateError
from cohortops.state import schema, views
from cohortops.state.logs import StoreOptions
from cohortops.state.snapstore import BlobSnapshots
from cohortops.state.sqlcore import POSTGRES, Db, Tx, ensure_schema
from cohortops.state.sqlstore import SqlStore

_SETUP_SLOT = -1  # advisory slot that serialises table creation; lock slots are >= 0


class Target:
    """Where the state lives, described without the password."""

    def __init__(self, url: str) -> None:
        try:
            params = conninfo.conninfo_to_dict(url)
        except psycopg.Error:
            raise StateError(
                "state.url is not a valid PostgreSQL connection URL.",
                hint="Use postgresql://USER@HOST:PORT/DATABASE.",
            ) from None
        self.url = url
        self._secrets = [str(v) for k, v in params.items() if k == "password" and v]
        host = params.get("host") or params.get("hostaddr") or "localhost"
        self.where = f"{host}:{params.get('port') or 5432}/{params.get('dbname') or '?'}"

    def redact(self, text: str) -> str:
        for secret in [self.url, *self._secrets]:
            text = text.replace(secret, "***")
        return text

    def connect(self, **extra: Any) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self.url, autocommit=True, connect_timeout=5, application_name="cohortops", **extra
            )
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StateError(
                f"Cannot reach the PostgreSQL state at {self.where}: {self.redact(first)}.",
                hint="Check that the server runs and that state.url points to it.",
            ) from None


def _slot(epoch: int) -> int:
    return epoch % 2**31


class AdvisoryLock:
    """A session advisory lock on a dedicated connection; PostgreSQL frees it when that dies."""

    def __init__(self, target: Target, key: int) -> None:
        self._target = target
        self._key = key
        self._conn: psycopg.Connection[Any] | None = None
        self._slot = 0

    def _connect(self) -> psycopg.Connection[Any]:
        conn = self._target.connect(keepalives=1, keepalives_idle=30, keepalives_interval=10)
        # Let the server notice a holder whose network vanished (a cancelled CI runner).
        conn.execute("SET tcp_keepalives_idle = 30")
        conn.execute("SET tcp_keepalives_interval = 10")
        conn.execute("SET tcp_keepalives_count = 3")
        return conn

    @staticmethod
    def _epoch(conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT lock_epoch FROM cohortops_meta WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def _try(self, conn: psycopg.Connection[Any]) -> int | None:
        while True:
            slot = _slot(self._epoch(conn))
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (self._key, slot)).fetchone()
            if not (row and row[0]):
                return None
            if _slot(self._epoch(conn)) == slot:
                return slot
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._key, slot))

    def try_acquire(self) -> bool:
        conn = self._connect()
        try:
            slot = self._try(conn)
        except psycopg.Error as exc:
            conn.close()
            detail = self._target.redact(str(exc).strip().splitlines()[0] if str(exc) else "")
            raise StateError(
                f"Cannot take the PostgreSQL state lock at {self._target.where}: {detail}."
            ) from exc
        if slot is None:
            conn.close()
            return False
        self._conn, self._slot = conn, slot
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._key, self._slot))
        except psycopg.Error:
            pass  # closing the session below releases it anyway
        finally:
            conn.close()

    def busy(self) -> bool:
        conn = self._connect()
        try:
            slot = self._try(conn)
            if slot is not None:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._key, slot))
            return slot is None
        finally:
            conn.close()

    def invalidate(self, tx: Tx) -> None:
        tx.execute("UPDATE cohortops_meta SET lock_epoch = lock_epoch + 1 WHERE id = 1")

    def after_invalidate(self) -> None:
        pass


def _current_schema(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_schema()").fetchone()
    if row and row[0]:
        return str(row[0])
    setting = conn.execute("SHOW search_path").fetchone()
    first = str(setting[0]).split(",")[0].strip().strip('"') if setting else ""
    if not first or first.startswith("$"):
        raise StateError("The PostgreSQL state URL selects no schema; set search_path.")
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(first)))
    return first


def _lock_key(schema_name: str) -> int:
    value = zlib.crc32(f"cohortops:{schema_name}".encode())
    return value - 2**32 if value >= 2**31 else value


def open_postgres(config: StateConfig, cwd: Path, options: StoreOptions) -> SqlStore:
    if config.url is None:
        raise StateError(
            "state.backend is postgres but state.url is not set.",
            hint="Set state.url, e.g. url: ${env:COHORTOPS_STATE_URL}.",
        )
    target = Target(config.url.reveal())
    conn = target.connect()
    location = f"postgres state {target.where}"
    db = Db(conn, POSTGRES, location, (psycopg.Error,), target.redact)
    try:
        schema_name = _current_schema(conn)
        key = _lock_key(schema_name)
        db.location = f"postgres state {target.where} schema {schema_name}"
        with db.read("reading the state version") as tx:
            exists = tx.scalar("SELECT to_regclass('cohortops_meta') IS NOT NULL")
            version = (
                tx.scalar("SELECT schema_version FROM cohortops_meta WHERE id = 1")
                if exists
                else None
            )
        if version != schema.SCHEMA_VERSION:
            with db.transaction("BEGIN", "creating the state tables") as tx:
                tx.execute("SELECT pg_advisory_xact_lock(?, ?)", (key, _SETUP_SLOT))
                ensure_schema(tx, options, location)
        with db.read() as tx:
            lineage = str(tx.scalar("SELECT lineage FROM cohortops_meta WHERE id = 1"))
            has_views = tx.scalar("SELECT to_regclass('cohortops_v_members') IS NOT NULL")
        if not has_views:
            with db.transaction("BEGIN", "creating the state views") as tx:
                tx.execute("SELECT pg_advisory_xact_lock(?, ?)", (key, _SETUP_SLOT))
                for statement in views.VIEWS:
                    tx.execute(statement)
    except psycopg.Error as exc:
        db.close()
        raise db.error(exc, "opening the state") from exc
    except BaseException:
        db.close()
        raise
    snapshots = BlobSnapshots(cwd / ".cohortops" / "cache" / lineage)
    return SqlStore(db, snapshots, functools.partial(AdvisoryLock, target, key), options)


def postgres_exists(config: StateConfig) -> bool:
    """Whether the URL's schema holds a state (reads only: no schema or table is created)."""
    if config.url is None:
        return False
    target = Target(config.url.reveal())
    conn = target.connect()
    try:
        row = conn.execute("SELECT to_regclass('cohortops_meta') IS NOT NULL").fetchone()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StateError(
            f"Cannot read the PostgreSQL state at {target.where}: {target.redact(first)}."
        ) from None
    finally:
        conn.close()
    return bool(row and row[0])
