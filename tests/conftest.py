"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pgsupport import postgres_url_fixture


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A reachable PostgreSQL URL (skips without a server; fails instead when CI=true)."""
    yield from postgres_url_fixture()
