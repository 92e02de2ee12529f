"""Client-side rate limiting that also follows what Braze says about its windows.

The limiter hands out send slots at the configured rate (GCRA: a small burst, then an even
pace), shared by every thread that sends through one client. After each response it reads
``X-RateLimit-Remaining``/``X-RateLimit-Reset``: when the rest of the window would run out
before it resets (other traffic shares the workspace budget) it spreads what is left over the
window, and when nothing is left it holds every sender until the reset.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from cohortops.http.retry import RetryHints, parse_hints

# Reset values are whole seconds: observations within this of each other are the same window.
_SAME_WINDOW = 0.5
# Float noise in slot arithmetic must not turn "now" into a microscopic sleep.
_EPSILON = 1e-6


# The rate headers of one response, parsed by the shared HTTP layer.
RateLimitInfo = RetryHints
parse_rate_headers = parse_hints


class RateLimiter:
    """Thread-safe send-slot dispenser.

    ``acquire`` blocks the calling thread until its slot; ``release`` ends a request and feeds
    back the response's rate headers; ``pause_until`` holds every sender (after a 429).
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        rng: random.Random | None = None,
        reset_jitter: float = 0.25,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate
        # ``burst`` requests may go at once; the default (~20 ms worth) lets the pace catch up
        # after a stall without real bursts.
        size = max(1.0, burst if burst is not None else rate * 0.02)
        self._burst_span = (size - 1.0) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._reset_jitter = reset_jitter
        self._lock = threading.Lock()
        self._next = float("-inf")
        self._paused_until = float("-inf")
        self._slow_until = float("-inf")
        self._slow_interval = self._interval
        self._window_reset = float("-inf")
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _reserve(self, now: float, deadline: float) -> float | None:
        start = max(self._next, now - self._burst_span, self._paused_until)
        if start > deadline:
            return None
        interval = self._interval
        if start < self._slow_until:
            interval = max(interval, self._slow_interval)
        self._next = start + interval
        return start

    def acquire(self, deadline: float = float("inf")) -> bool:
        """Wait for a send slot. False (without waiting) when it would come after ``deadline``."""
        while True:
            with self._lock:
                now = self._clock()
                slot = self._reserve(now, deadline)
                if slot is None:
                    return False
                if slot <= now + _EPSILON:
                    self._in_flight += 1
                    return True
            self._sleep(slot - now)
            with self._lock:
                # A pause that began while we slept cancels the slot: take a new one.
                if self._paused_until <= slot or self._paused_until <= self._clock():
                    self._in_flight += 1
                    return True

    def pause_until(self, moment: float) -> None:
        """Hold every sender until ``moment`` (clock time)."""
        with self._lock:
            if moment > self._paused_until:
                self._paused_until = moment
                self._next = max(self._next, moment)

    def release(self, info: RateLimitInfo | None = None) -> None:
        """End one acquired request; ``info`` carries its response's rate-limit headers."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if info is None or info.remaining is None or info.reset_in is None:
                return
            if info.reset_in <= 0:
                return
            now = self._clock()
            reset_at = now + info.reset_in
            if reset_at < self._window_reset - _SAME_WINDOW:
                return  # a late response from a window that has already reset
            self._window_reset = max(self._window_reset, reset_at)
            # Requests still in flight will spend from the same window.
            budget = info.remaining - self._in_flight
            if budget <= 0:
                resume = reset_at + self._rng.uniform(0.0, self._reset_jitter)
                if resume > self._paused_until:
                    self._paused_until = resume
                    self._next = max(self._next, resume)
                return
            spread = info.reset_in / budget
            if spread > self._interval:
                self._slow_until = reset_at
                self._slow_interval = spread
            else:
                self._slow_until = float("-inf")
