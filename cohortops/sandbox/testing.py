"""Helpers for any test suite that needs a sandbox (no pytest dependency).

Example: ``with running_sandbox(rate_limit=50, users=["u1", "u2"]) as server:`` gives a running
sandbox at ``server.base_url`` that accepts ``API_KEY``, ``PARTNER_KEY`` and ``CLIENT_SECRET``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cohortops.sandbox.config import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PARTNER_KEY,
    SandboxConfig,
)
from cohortops.sandbox.runtime import Clock
from cohortops.sandbox.server import SandboxServer, serve_in_thread

API_KEY = DEFAULT_API_KEY
PARTNER_KEY = DEFAULT_PARTNER_KEY
CLIENT_SECRET = DEFAULT_CLIENT_SECRET


class ManualClock:
    """A settable clock for rate windows and export lag: tests advance it instead of sleeping."""

    def __init__(self, start: float = 1_700_000_001.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_config(base: SandboxConfig | None = None, **overrides: Any) -> SandboxConfig:
    return dataclasses.replace(base or SandboxConfig(), **overrides)


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None,
    *,
    users: Any = None,
    clock: Clock = time.time,
    **overrides: Any,
) -> Iterator[SandboxServer]:
    """A sandbox on a free 127.0.0.1 port, seeded with ``users``; stopped on exit."""
    server = serve_in_thread(make_config(config, **overrides), clock=clock)
    try:
        if users is not None:
            server.seed_users(users)
        yield server
    finally:
        server.stop()


def cohort_body(
    cohort_id: str,
    *,
    user_ids: list[str] | None = None,
    device_ids: list[str] | None = None,
    aliases: list[dict[str, str]] | None = None,
    should_remove: bool = False,
) -> dict[str, Any]:
    """A /partners/{partner}/cohorts/users body with the sandbox's default keys."""
    change: dict[str, Any] = {"should_remove": should_remove}
    if user_ids is not None:
        change["user_ids"] = user_ids
    if device_ids is not None:
        change["device_ids"] = device_ids
    if aliases is not None:
        change["aliases"] = aliases
    return {
        "partner_api_key": PARTNER_KEY,
        "client_secret": CLIENT_SECRET,
        "cohort_id": cohort_id,
        "cohort_changes": [change],
    }
