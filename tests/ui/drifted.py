"""A project whose last `cohortops drift` found one member missing in Braze (sandbox-backed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from miniproject import cli, sandbox_with_users, write_project

from cohortops.operations.context import App


@contextmanager
def drifted_project(root: Path) -> Iterator[App]:
    """Cohorts ``a`` and ``b`` applied; ``u000002`` lost ``a``'s value; then a drift run."""
    with sandbox_with_users(5) as server:
        configs = write_project(
            root / "configs", server.base_url, {"a": ["u000001", "u000002"], "b": ["u000003"]}
        )
        assert cli("apply", "--auto-approve", "-c", str(configs), cwd=root).returncode == 0
        server.seed_users([{"external_id": "u000002", "attributes": {"segs": []}}])
        assert cli("drift", "-c", str(configs), cwd=root).returncode == 2
        yield App(configs)
