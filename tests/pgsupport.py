"""PostgreSQL for tests: reachable, or skipped with a reason, or failed when CI=true.

A missing server must not hide in CI: with ``CI=true`` the tests that need it fail instead of
skipping.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator, Mapping

import psycopg
import pytest

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
RUN_ID = uuid.uuid4().hex[:8]  # schema names of this run: cohortops_test_<RUN_ID>_<n>
_schema_numbers = itertools.count(1)


def check_postgres(url: str, environ: Mapping[str, str]) -> None:
    """Return when ``url`` answers; otherwise skip, or fail when ``CI=true``."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        params = psycopg.conninfo.conninfo_to_dict(url)
        where = (
            f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname')}"
        )
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = (
            f"PostgreSQL at {where} is unreachable ({detail}); start it or point "
            "COHORTOPS_TEST_PG_URL at one"
        )
        if environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}. CI=true, so a missing server is a failure.", pytrace=False)
        pytest.skip(reason)


def reachable_postgres_url(environ: Mapping[str, str] = os.environ) -> str:
    """``COHORTOPS_TEST_PG_URL`` (or the default) once it answers: see :func:`check_postgres`.

    The one gate of every PostgreSQL test; the ``postgres_url`` fixture is built on it, and
    helpers that need the server only sometimes (lazily) call it directly.
    """
    url = environ.get("COHORTOPS_TEST_PG_URL", DEFAULT_PG_URL)
    check_postgres(url, environ)
    return url


def postgres_url_fixture() -> Iterator[str]:  # wrapped as the session fixture `postgres_url`
    """A reachable PostgreSQL URL; this run's leftover test schemas are dropped at the end."""
    url = reachable_postgres_url()
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
            (f"cohortops_test_{RUN_ID}_%",),
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def next_schema_number() -> int:
    return next(_schema_numbers)
