"""Fixtures for the state conformance suite: every store test runs on SQLite and PostgreSQL.

``postgres_url`` is reusable: it skips PostgreSQL tests with a clear reason when the server is
unreachable, unless ``CI=true``, where a missing server fails them instead of hiding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pgsupport import RUN_ID, check_postgres, next_schema_number  # noqa: F401 (re-exported)

from cohortops.config.model import Secret, StateConfig
from cohortops.state import Store, StoreOptions, open_store


class FakeClock:
    """Wall clock for the store: starts at a fixed instant and ticks 1 ms per reading."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=1)
        return self.now


@dataclass
class Backend:
    """One state location plus a way to reach its tables directly (for tamper tests)."""

    name: str
    config: StateConfig
    cwd: Path
    clock: FakeClock
    admin_url: str | None = None
    schema: str | None = None
    opened: list[Store] = field(default_factory=list)

    def open(self, **options: Any) -> Store:
        opts = StoreOptions(clock=self.clock, **options)
        store = open_store(self.config, cwd=self.cwd, options=opts)
        self.opened.append(store)
        return store

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement straight on the database, behind the store's back."""
        if self.name == "sqlite":
            import sqlite3

            assert self.config.path is not None
            with sqlite3.connect(self.config.path) as lite:
                rows = lite.execute(statement, params).fetchall()
            lite.close()
            return rows
        assert self.admin_url is not None
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            cur = conn.execute(statement.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def child_spec(self) -> dict[str, Any]:
        """What a child process needs to open the same state."""
        url = None if self.config.url is None else self.config.url.reveal()
        path = None if self.config.path is None else str(self.config.path)
        return {"backend": self.name, "path": path, "url": url, "cwd": str(self.cwd)}

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


def _schema_url(base: str, schema: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture
def make_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Backend]]:
    made: list[Backend] = []
    schemas: list[str] = []

    def make(name: str) -> Backend:
        cwd = tmp_path / f"work-{len(made)}"
        cwd.mkdir()
        if name == "sqlite":
            backend = Backend(name, StateConfig(path=cwd / "state.db"), cwd, FakeClock())
        else:
            base = request.getfixturevalue("postgres_url")
            schema = f"cohortops_test_{RUN_ID}_{next_schema_number()}"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            schemas.append(schema)
            url = _schema_url(base, schema)
            config = StateConfig(backend="postgres", url=Secret(url, "state.url"))
            backend = Backend(name, config, cwd, FakeClock(), admin_url=url, schema=schema)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close_all()
    if schemas:
        with psycopg.connect(request.getfixturevalue("postgres_url"), autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, make_backend: Callable[[str], Backend]) -> Backend:
    return make_backend(request.param)


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()
