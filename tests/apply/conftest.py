"""Fixtures for the end-to-end apply suite: a seeded sandbox, a state backend, a project.

PostgreSQL tests skip when the server is unreachable, unless ``CI=true``, where they fail (the
same rule as tests/state/conftest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pgsupport import reachable_postgres_url

from cohortops.sandbox import SandboxConfig, SandboxServer, serve_in_thread

from .harness import SECRETS, Project, base_env, schema_url

POPULATION = 20_000  # u000000 … u019999 exist in every sandbox
StartSandbox = Callable[..., SandboxServer]
MakeProject = Callable[..., Project]


@pytest.fixture
def start_sandbox() -> Iterator[StartSandbox]:
    started: list[SandboxServer] = []

    def start(population: int = POPULATION, **overrides: Any) -> SandboxServer:
        server = serve_in_thread(SandboxConfig(**overrides))
        started.append(server)
        server.seed_users(
            {"external_ids_range": {"prefix": "u", "start": 0, "count": population, "width": 6}}
        )
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def pg_schema() -> Iterator[Callable[[], str]]:
    """Make a fresh PostgreSQL schema; returns its URL. Dropped at teardown."""
    made: list[str] = []
    base: list[str] = []

    def make() -> str:
        if not base:
            base.append(reachable_postgres_url())
        schema = f"cohortops_apply_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base[0], autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        made.append(schema)
        return schema_url(base[0], schema)

    yield make
    if made:
        with psycopg.connect(base[0], autocommit=True) as conn:
            for schema in made:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bytecode cache for CLI subprocesses: each saves ~0.2 s of compiling, outside the repo."""
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture
def make_project(
    tmp_path: Path,
    pycache: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_sandbox: StartSandbox,
    pg_schema: Callable[[], str],
) -> MakeProject:
    """A project on the given backend ("sqlite" or "postgres"), its sandbox already running."""

    def make(
        backend: str = "sqlite",
        *,
        sandbox: SandboxServer | None = None,
        requests_per_second: float = 1000.0,
        **sandbox_options: Any,
    ) -> Project:
        root = tmp_path / "project"
        root.mkdir()
        extra: dict[str, str] = {}
        if backend == "sqlite":
            state: dict[str, Any] = {"backend": "sqlite", "path": "../state/state.db"}
        else:
            extra["COHORTOPS_STATE_URL"] = pg_schema()
            state = {"backend": "postgres", "url": "${env:COHORTOPS_STATE_URL}"}
        env = base_env(extra)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
        for name, value in {**SECRETS, **extra, "COHORTOPS_ACTOR": "tester@ci"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(root)
        server = sandbox or start_sandbox(**sandbox_options)
        return Project(root, server, state, env, requests_per_second)

    return make


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name
