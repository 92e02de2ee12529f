"""The rate limiter and the rate-limit header parsing, on a fake clock."""

from __future__ import annotations

import itertools
import random
import threading

import pytest

from cohortops.braze.ratelimit import RateLimiter, RateLimitInfo
from cohortops.braze.sender import braze_policy

from .fakes import FakeClock


def limiter(
    clock: FakeClock, rate: float, *, burst: float | None = None, reset_jitter: float = 0.25
) -> RateLimiter:
    return RateLimiter(
        rate,
        burst=burst,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(1),
        reset_jitter=reset_jitter,
    )


def sends(clock: FakeClock, lim: RateLimiter, count: int) -> list[float]:
    times = []
    for _ in range(count):
        assert lim.acquire()
        times.append(clock.now)
        lim.release()
    return times


def test_paces_at_the_configured_rate_after_a_small_burst() -> None:
    clock = FakeClock()
    lim = limiter(clock, 100, burst=5)
    times = sends(clock, lim, 105)
    assert times[:5] == [0.0] * 5
    # From then on one slot every 10 ms: 100 sends after the burst take one second.
    assert times[-1] == pytest.approx(1.0, abs=1e-9)
    gaps = [b - a for a, b in itertools.pairwise(times[5:])]
    assert all(g == pytest.approx(0.01) for g in gaps)


def test_never_exceeds_rate_plus_burst_in_any_window() -> None:
    clock = FakeClock()
    lim = limiter(clock, 50)  # default burst: one request
    times = sends(clock, lim, 200)
    for start in times:
        inside = [t for t in times if start <= t < start + 1.0]
        assert len(inside) <= 50 + 1


def test_idle_time_does_not_bank_a_big_burst() -> None:
    clock = FakeClock()
    lim = limiter(clock, 100, burst=3)
    sends(clock, lim, 10)
    clock.now += 60
    times = sends(clock, lim, 10)
    assert times.count(times[0]) == 3


def test_slots_are_unique_across_threads() -> None:
    clock = FakeClock()  # frozen: each acquire "sleeps" exactly to its own slot
    lock = threading.Lock()
    waits: list[float] = []

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    lim = RateLimiter(1000, burst=1, clock=clock, sleep=record)

    def worker() -> None:
        for _ in range(200):
            lim.acquire()
            lim.release()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 1,600 acquisitions: one immediate, then the slots 1 ms, 2 ms, ... each taken once.
    assert sorted(round(w * 1000) for w in waits) == list(range(1, 1600))
    assert lim.in_flight == 0


def test_deadline_refuses_a_slot_instead_of_waiting() -> None:
    clock = FakeClock()
    lim = limiter(clock, 1)
    assert lim.acquire(deadline=10)
    lim.pause_until(100)
    assert not lim.acquire(deadline=50)
    assert clock.sleeps == []


def test_pause_holds_senders_until_it_ends() -> None:
    clock = FakeClock()
    lim = limiter(clock, 1000)
    lim.pause_until(2.5)
    assert lim.acquire()
    assert clock.now == 2.5


def test_pause_taken_while_sleeping_cancels_the_slot() -> None:
    clock = FakeClock()
    paused = False

    def sleep(seconds: float) -> None:
        nonlocal paused
        clock.sleep(seconds)
        if not paused:  # another thread got a 429 while this one waited for its slot
            paused = True
            lim.pause_until(clock.now + 5)

    lim = RateLimiter(10, burst=1, clock=clock, sleep=sleep)
    lim.acquire()
    lim.release()
    lim.acquire()
    assert clock.now >= 5.1


def test_remaining_zero_holds_everyone_until_reset() -> None:
    clock = FakeClock()
    lim = limiter(clock, 1000, reset_jitter=0.0)
    lim.acquire()
    lim.release(RateLimitInfo(remaining=0, reset_in=2.0))
    lim.acquire()
    assert clock.now == pytest.approx(2.0)


def test_low_remaining_spreads_the_rest_of_the_window() -> None:
    clock = FakeClock()
    lim = limiter(clock, 1000, burst=1)
    lim.acquire()
    # 10 requests left for the next 2 seconds: pace drops to one per 200 ms.
    lim.release(RateLimitInfo(remaining=10, reset_in=2.0))
    times = sends(clock, lim, 4)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g == pytest.approx(0.2) for g in gaps)
    # A response from the next window restores the configured pace.
    clock.now = 2.5
    lim.acquire()
    lim.release(RateLimitInfo(remaining=2900, reset_in=2.5))
    times = sends(clock, lim, 3)
    assert times[-1] - times[0] == pytest.approx(0.002)


def test_in_flight_requests_count_against_remaining() -> None:
    clock = FakeClock()
    lim = limiter(clock, 1000, burst=10, reset_jitter=0.0)
    for _ in range(5):
        lim.acquire()
    lim.release(RateLimitInfo(remaining=4, reset_in=1.0))  # 4 still in flight: budget 0
    lim.acquire()
    assert clock.now == pytest.approx(1.0)


def test_stale_window_observations_are_ignored() -> None:
    clock = FakeClock()
    lim = limiter(clock, 1000, burst=1, reset_jitter=0.0)
    lim.acquire()
    lim.release(RateLimitInfo(remaining=3000, reset_in=3.0))
    lim.acquire()
    lim.release(RateLimitInfo(remaining=0, reset_in=1.0))  # an earlier window's late reply
    before = clock.now
    lim.acquire()
    assert clock.now - before < 0.01


def test_braze_retryable_statuses() -> None:
    policy = braze_policy()
    assert all(policy.retries_status(s) for s in (408, 423, 429, 500, 502, 503, 504))
    assert not any(policy.retries_status(s) for s in (400, 401, 403, 404, 409, 413))
