"""Opening stores: defaults, SQLite settings, and one-line errors that say what to do."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from cohortops.config.model import Secret, StateConfig
from cohortops.errors import StateError
from cohortops.state import Store, open_store
from cohortops.state.sqlstore import SqlStore

from .conftest import Backend, check_postgres
from .helpers import locked


def test_default_sqlite_state_lives_under_the_working_directory(tmp_path: Path) -> None:
    with open_store(StateConfig(), cwd=tmp_path) as store:
        assert store.location == f"sqlite state {tmp_path / '.cohortops' / 'state.db'}"
        with locked(store):
            store.upsert_cohort("c", {})
    db = tmp_path / ".cohortops" / "state.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_relative_sqlite_path_is_relative_to_cwd(tmp_path: Path) -> None:
    with open_store(StateConfig(path=Path("deep/s.db")), cwd=tmp_path):
        pass
    assert (tmp_path / "deep" / "s.db").is_file()


def test_sqlite_connection_uses_wal_and_normal_sync(tmp_path: Path) -> None:
    store = open_store(StateConfig(), cwd=tmp_path)
    assert isinstance(store, SqlStore)
    conn = store._db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    store.close()
    store.close()  # twice is fine


def test_a_corrupt_sqlite_file_is_named(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(b"this is not sqlite" * 500)
    with pytest.raises(StateError) as caught:
        open_store(StateConfig(path=db), cwd=tmp_path)
    message = str(caught.value)
    assert str(db) in message and "backup" in message and "\n" not in message


def test_a_directory_is_not_a_state_file(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="is a directory"):
        open_store(StateConfig(path=tmp_path), cwd=tmp_path)


def test_a_newer_schema_is_refused(backend: Backend) -> None:
    backend.open().close()
    backend.sql("UPDATE cohortops_meta SET schema_version = 99")
    with pytest.raises(StateError, match=r"schema version 99.*Upgrade cohortops"):
        backend.open()


def test_unreachable_postgres_names_host_and_db_but_not_the_password(tmp_path: Path) -> None:
    url = "postgresql://svc:s3cr3t-pass@127.0.0.1:1/statedb"
    with pytest.raises(StateError) as caught:
        open_store(StateConfig(backend="postgres", url=Secret(url)), cwd=tmp_path)
    message = str(caught.value)
    assert "127.0.0.1:1/statedb" in message
    assert "s3cr3t" not in message and "s3cr3t" not in repr(caught.value)
    assert "\n" not in message


def test_postgres_without_url_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"state\.url is not set"):
        open_store(StateConfig(backend="postgres"), cwd=tmp_path)


@pytest.mark.postgres
def test_postgres_creates_a_missing_schema_and_keeps_states_apart(
    postgres_url: str, tmp_path: Path
) -> None:
    schemas = [f"cohortops_test_new_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    stores: list[Store] = []
    try:
        for schema in schemas:
            url = f"{postgres_url}?options=-csearch_path%3D{schema}"
            stores.append(
                open_store(StateConfig(backend="postgres", url=Secret(url)), cwd=tmp_path)
            )
        first, second = stores
        assert first.snapshot().lineage != second.snapshot().lineage
        with locked(first), locked(second):  # advisory keys differ per schema
            first.upsert_cohort("only-in-first", {})
        assert not second.has_cohort("only-in-first")
    finally:
        for store in stores:
            store.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_postgres_fixture_skips_when_unreachable_outside_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"127\.0\.0\.1:1/x is unreachable"):
        check_postgres("postgresql://u@127.0.0.1:1/x", {})


def test_postgres_fixture_fails_when_unreachable_in_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        check_postgres("postgresql://u@127.0.0.1:1/x", {"CI": "true"})
