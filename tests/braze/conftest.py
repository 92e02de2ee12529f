"""Fixtures for the Braze client tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cohortops.braze import BrazeClient

from .fakes import FakeClock, Script


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., BrazeClient]]:
    made: list[BrazeClient] = []

    def make(script: Script, **overrides: object) -> BrazeClient:
        options: dict[str, Any] = {  # BrazeClient's keyword arguments
            "destination_id": "braze-prod",
            "requests_per_second": 1e9,
            "transport": httpx.MockTransport(script),
            "clock": clock,
            "sleep": clock.sleep,
            "wall_clock": clock.wall,
            "random": random.Random(7),
            "api_key_hint": "BRAZE_API_KEY",
        }
        options.update(overrides)
        client = BrazeClient("https://rest.fra-01.braze.eu", "rest-key-123", **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
