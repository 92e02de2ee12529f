"""A project whose last `cohortops drift` found one member missing in Braze (sandbox-backed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from miniproject import cli, write_project

from cohortops.operations.context import App
from cohortops.sandbox import SandboxConfig, serve_in_thread


@contextmanager
def drifted_project(root: Path) -> Iterator[App]:
    """Cohorts ``a`` and ``b`` applied; ``u000002`` lost ``a``'s value; then a drift run."""
    server = serve_in_thread(SandboxConfig())
    try:
        server.seed_users(
            {"external_ids_range": {"prefix": "u", "start": 0, "count": 5, "width": 6}}
        )
        configs = write_project(
            root / "configs", server.base_url, {"a": ["u000001", "u000002"], "b": ["u000003"]}
        )
        assert cli("apply", "--auto-approve", "-c", str(configs), cwd=root).returncode == 0
        server.seed_users([{"external_id": "u000002", "attributes": {"segs": []}}])
        assert cli("drift", "-c", str(configs), cwd=root).returncode == 2
        yield App(configs)
    finally:
        server.stop()
