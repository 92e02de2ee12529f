"""Fixed, clock-aligned, workspace-wide rate-limit windows and their headers."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from cohortops.sandbox import ALL_PERMISSIONS
from cohortops.sandbox.ratelimit import FixedWindowLimiter
from cohortops.sandbox.testing import ManualClock, cohort_body

from .conftest import StartSandbox

BODY = {"attributes": [{"external_id": "u1", "plan": "gold"}]}


def test_limiter_windows_are_clock_aligned() -> None:
    limiter = FixedWindowLimiter(limit=2, window=3.0)
    first = limiter.hit(100.5)  # window [99, 102)
    assert (first.allowed, first.remaining, first.reset, first.retry_after) == (True, 1, 102, 2)
    assert limiter.hit(101.9).allowed
    third = limiter.hit(101.95)
    assert (third.allowed, third.remaining) == (False, 0)
    fresh = limiter.hit(102.0)  # a new window starts exactly at the boundary, not 3 s after use
    assert (fresh.allowed, fresh.remaining, fresh.reset) == (True, 1, 105)


def test_headers_on_every_response_and_429_when_exhausted(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client], clock: ManualClock
) -> None:
    clock.now = 1_700_000_001.5  # window [1_700_000_001, 1_700_000_004)
    server = start_sandbox(rate_limit=3, rate_window_seconds=3)
    client = connect(server)
    seen = []
    for _ in range(4):
        response = client.post("/users/track", json=BODY)
        seen.append(
            (
                response.status_code,
                response.headers["X-RateLimit-Limit"],
                response.headers["X-RateLimit-Remaining"],
                response.headers["X-RateLimit-Reset"],
            )
        )
    reset = "1700000004"
    assert seen == [
        (201, "3", "2", reset),
        (201, "3", "1", reset),
        (201, "3", "0", reset),
        (429, "3", "0", reset),
    ]
    assert "Retry-After" not in response.headers
    assert server.counters()["rate_limited"] == 1
    clock.now = 1_700_000_004.0
    response = client.post("/users/track", json=BODY)
    assert (response.status_code, response.headers["X-RateLimit-Remaining"]) == (201, "2")
    assert response.headers["X-RateLimit-Reset"] == "1700000007"


def test_quota_is_shared_by_all_keys_and_endpoints(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(rate_limit=3, api_keys={"k1": ALL_PERMISSIONS, "k2": ALL_PERMISSIONS})
    assert connect(server, key="k1").post("/users/track", json=BODY).status_code == 201
    assert connect(server, key="k2").post("/users/track", json=BODY).status_code == 201
    unauthorised = connect(server, key="nope").post("/users/track", json=BODY)
    assert unauthorised.status_code == 401
    assert unauthorised.headers["X-RateLimit-Remaining"] == "0"
    partner = connect(server, key=None).post(
        "/partners/kubit/cohorts/users", json=cohort_body("c1")
    )
    assert partner.status_code == 429


def test_retry_after_is_optional(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client], clock: ManualClock
) -> None:
    clock.now = 1_700_000_002.2
    server = start_sandbox(rate_limit=1, rate_window_seconds=3, send_retry_after=True)
    client = connect(server)
    assert "Retry-After" not in client.post("/users/track", json=BODY).headers
    limited = client.post("/users/track", json=BODY)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"  # ceil(1_700_000_004 - 1_700_000_002.2)


def test_no_limit_means_no_headers(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox()
    response = connect(server).post("/users/track", json=BODY)
    assert response.status_code == 201
    assert "X-RateLimit-Limit" not in response.headers


def test_limit_can_change_at_run_time(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox()
    client = connect(server)
    admin = client.post("/_sandbox/faults", json={"rate_limit": 1, "rate_window_seconds": 60})
    assert admin.status_code == 200
    assert client.post("/users/track", json=BODY).headers["X-RateLimit-Limit"] == "1"
    assert client.post("/users/track", json=BODY).status_code == 429
