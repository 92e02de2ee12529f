"""The shared retry policy and loop, on a fake clock."""

from __future__ import annotations

import random

import httpx
import pytest

from cohortops.http.client import CONNECT_FAILURES, NETWORK_ERRORS
from cohortops.http.retry import Again, Attempt, GaveUp, RetryHints, RetryPolicy, parse_hints, retry

WALL = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Exhausted(Exception):
    def __init__(self, end: GaveUp) -> None:
        super().__init__(end.last.reason)
        self.end = end


def run(policy: RetryPolicy, outcomes: list[object], clock: Clock) -> tuple[object, list[int]]:
    """Runs the loop over scripted outcomes (values, Again, or exceptions to raise)."""
    seen: list[int] = []

    def attempt(now: Attempt) -> object:
        seen.append(now.number)
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    result = retry(
        attempt, policy, gave_up=Exhausted, clock=clock, sleep=clock.sleep, rng=random.Random(1)
    )
    return result, seen


def test_header_parsing_is_case_insensitive_and_tolerant() -> None:
    headers = httpx.Headers(
        {"X-RATELIMIT-REMAINING": "12", "x-ratelimit-reset": str(WALL + 3), "Retry-After": "1.5"}
    )
    assert parse_hints(headers, WALL) == RetryHints(remaining=12, reset_in=3.0, retry_after=1.5)
    assert parse_hints(httpx.Headers({}), WALL) == RetryHints()
    junk = httpx.Headers(
        {"x-ratelimit-remaining": "many", "x-ratelimit-reset": "nan", "retry-after": "later"}
    )
    assert parse_hints(junk, WALL) == RetryHints()
    assert parse_hints(httpx.Headers({"x-ratelimit-reset": "2"}), WALL).reset_in == 2.0
    negative = parse_hints(httpx.Headers({"retry-after": "-3", "x-ratelimit-remaining": "-1"}), 0)
    assert negative == RetryHints(remaining=0, retry_after=0.0)
    date = parse_hints(httpx.Headers({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}), WALL)
    assert date.retry_after == 20.0


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4.0)
    rng = random.Random(3)
    samples = {n: [policy.backoff(n, rng) for _ in range(300)] for n in (1, 2, 3, 4, 10)}
    for n, values in samples.items():
        ceiling = min(4.0, 0.5 * 2 ** (n - 1))
        assert all(0 <= v <= ceiling for v in values)
        assert max(values) > ceiling * 0.9  # spread over the whole range
        assert min(values) < ceiling * 0.1


def test_hinted_wait_prefers_retry_after_then_reset() -> None:
    policy = RetryPolicy(backoff_base=1.0, reset_jitter=0.25)
    rng = random.Random(0)
    assert policy.hinted_wait(RetryHints(retry_after=7, reset_in=2), 1, rng) == 7
    assert 2 <= policy.hinted_wait(RetryHints(reset_in=2), 1, rng) <= 2.25
    assert 0 <= policy.hinted_wait(RetryHints(reset_in=-1), 1, rng) <= 1.0


def test_statuses_and_settings_are_checked() -> None:
    policy = RetryPolicy()
    assert all(policy.retries_status(s) for s in (408, 429, 500, 503))
    assert not any(policy.retries_status(s) for s in (400, 404, 423))
    only_429 = RetryPolicy(retry_statuses=frozenset({429}), retry_server_errors=False)
    assert only_429.retries_status(429) and not only_429.retries_status(503)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(backoff_cap=-1)


def test_fail_fast_retries_only_on_an_open_connection() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/x")
    everything = RetryPolicy(retry_on=NETWORK_ERRORS)
    open_only = RetryPolicy(retry_on=NETWORK_ERRORS, fail_fast=CONNECT_FAILURES)
    refused = httpx.ConnectError("refused", request=request)
    for transient in (
        httpx.ReadTimeout("t", request=request),
        httpx.ConnectTimeout("t", request=request),
        httpx.RemoteProtocolError("dropped", request=request),
        httpx.ReadError("reset", request=request),
    ):
        assert everything.retries_exception(transient)
        assert open_only.retries_exception(transient)
    assert everything.retries_exception(refused)
    assert not open_only.retries_exception(refused)
    assert not open_only.retries_exception(ValueError("x"))


def test_the_loop_returns_the_first_value() -> None:
    clock = Clock()
    policy = RetryPolicy(max_attempts=5, retry_on=(OSError,))
    result, seen = run(policy, [Again("HTTP 503", 503), OSError("reset"), "done"], clock)
    assert (result, seen) == ("done", [1, 2, 3])
    assert len(clock.slept) == 2
    assert 0 <= clock.slept[0] <= 0.5 and 0 <= clock.slept[1] <= 1.0


def test_the_loop_stops_at_max_attempts() -> None:
    clock = Clock()
    with pytest.raises(Exhausted) as caught:
        run(RetryPolicy(max_attempts=3), [Again("a"), Again("b"), Again("c", 502)], clock)
    assert (caught.value.end.attempts, caught.value.end.last) == (3, Again("c", 502))
    assert len(clock.slept) == 2


def test_the_loop_stops_before_a_wait_past_the_deadline() -> None:
    clock = Clock()
    policy = RetryPolicy(max_retry_seconds=10)
    with pytest.raises(Exhausted) as caught:
        run(policy, [Again("a", wait=4), Again("b", wait=5), Again("c", wait=2)], clock)
    assert clock.slept == [4, 5]
    assert (caught.value.end.attempts, caught.value.end.elapsed) == (3, 9.0)


def test_a_wait_held_elsewhere_is_not_slept() -> None:
    clock = Clock()
    result, _ = run(RetryPolicy(), [Again("429", wait=3, waited_elsewhere=True), 1], clock)
    assert result == 1 and clock.slept == []


def test_exceptions_the_policy_does_not_retry_propagate_at_once() -> None:
    clock = Clock()
    policy = RetryPolicy(retry_on=(OSError,), fail_fast=(ConnectionRefusedError,))
    with pytest.raises(ConnectionRefusedError):
        run(policy, [ConnectionRefusedError(), "never"], clock)
    with pytest.raises(KeyError):
        run(policy, [KeyError("x"), "never"], clock)
    assert clock.slept == []


def test_retries_are_logged_with_their_wait() -> None:
    heard: list[tuple[str, int, float]] = []
    result = retry(
        lambda now: "ok" if now.number == 2 else Again("HTTP 500", 500, wait=0.25),
        RetryPolicy(),
        gave_up=Exhausted,
        sleep=lambda s: None,
        log=lambda again, number, wait: heard.append((again.reason, number, wait)),
    )
    assert result == "ok" and heard == [("HTTP 500", 1, 0.25)]
