"""Fakes for the Braze client tests: a clock that only sleeping advances, scripted HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

WALL_EPOCH = 1_700_000_000.0

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_EPOCH + self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """An httpx handler that replays replies in order and records every request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies: list[Reply] = list(replies)
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []  # JSON

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(orjson.loads(request.content))
        if not self.replies:
            raise AssertionError("unexpected extra request")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)


def ok(
    body: object | None = None, status: int = 201, headers: dict[str, str] | None = None
) -> httpx.Response:
    payload = {"message": "success"} if body is None else body
    return httpx.Response(status, content=orjson.dumps(payload), headers=headers)


def fail(
    status: int, message: str = "nope", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps({"message": message}), headers=headers)
