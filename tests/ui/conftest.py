from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cohortops.operations.context import App

from .seed import seed


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Path]]:
    """One seeded project per test module (seeding takes a few seconds)."""
    root = tmp_path_factory.mktemp("ui-project")
    old = Path.cwd()
    os.chdir(root)
    try:
        yield seed(root), root
    finally:
        os.chdir(old)
