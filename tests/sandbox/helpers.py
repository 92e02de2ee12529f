"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

from cohortops.sandbox import SandboxServer


def user(server: SandboxServer, external_id: str) -> dict[str, Any]:
    """One user's dump from the state, by external id."""
    for entry in server.state()["users"]:
        if entry.get("external_id") == external_id:
            return entry
    raise AssertionError(f"no user {external_id!r} in the sandbox")
