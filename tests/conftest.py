"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from pgsupport import postgres_url_fixture

# CI explores the same examples on every run, so a landing never hinges on a lucky draw; local
# runs keep exploring new ones (and replay saved failures from .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A reachable PostgreSQL URL (skips without a server; fails instead when CI=true)."""
    yield from postgres_url_fixture()
