"""Which failures are retried, and how long to wait before the next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass

from cohortops.braze.ratelimit import RateLimitInfo

# 423: cohort import "resource locked" (retry semantics undocumented: bounded retry).
_RETRYABLE_4XX = frozenset({408, 423, 429})


def is_retryable_status(status: int) -> bool:
    """Statuses after which the same request may succeed; re-sending add/remove is safe."""
    return status >= 500 or status in _RETRYABLE_4XX


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``max_attempts`` sends within ``max_retry_seconds``."""

    max_attempts: int = 8
    max_retry_seconds: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    reset_jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_retry_seconds < 0 or self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("retry durations must not be negative")

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter after the ``failures``-th failure (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, failures - 1))
        return rng.uniform(0.0, ceiling)

    def rate_limited_wait(self, info: RateLimitInfo, failures: int, rng: random.Random) -> float:
        """After a 429: Retry-After if given, else until the window resets, else backoff."""
        if info.retry_after is not None:
            return info.retry_after
        if info.reset_in is not None and info.reset_in > 0:
            return info.reset_in + rng.uniform(0.0, self.reset_jitter)
        return self.backoff(failures, rng)
