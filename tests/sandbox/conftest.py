"""Fixtures for the sandbox contract tests: real servers on 127.0.0.1 port 0, stopped after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cohortops.sandbox import SandboxServer, serve_in_thread
from cohortops.sandbox.testing import API_KEY, ManualClock, make_config

StartSandbox = Callable[..., SandboxServer]


START = 1_700_000_001.0  # mid-window for 3 s windows: no boundary is crossed by accident


@pytest.fixture(scope="session")
def _session_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="session")
def _shared_sandbox(_session_clock: ManualClock) -> Iterator[SandboxServer]:
    # One default-config server for most tests: starting and stopping uvicorn costs ~0.15 s.
    server = serve_in_thread(make_config(), clock=_session_clock)
    yield server
    server.stop()


@pytest.fixture
def clock(_session_clock: ManualClock) -> ManualClock:
    _session_clock.now = START
    return _session_clock


@pytest.fixture
def start_sandbox(clock: ManualClock) -> Iterator[StartSandbox]:
    servers: list[SandboxServer] = []

    def start(users: Any = None, **overrides: Any) -> SandboxServer:
        server = serve_in_thread(make_config(**overrides), clock=clock)
        servers.append(server)
        if users is not None:
            server.seed_users(users)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(_shared_sandbox: SandboxServer, clock: ManualClock) -> SandboxServer:
    """The shared default-config server, reset to empty."""
    _shared_sandbox.reset()
    return _shared_sandbox


@pytest.fixture
def connect() -> Iterator[Callable[..., httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(server: SandboxServer, key: str | None = API_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        client = httpx.Client(base_url=server.base_url, headers=headers, timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(sandbox: SandboxServer, connect: Callable[..., httpx.Client]) -> httpx.Client:
    return connect(sandbox)
