"""One retry policy and one retry loop, for every outbound call that may fail transiently.

A :class:`RetryPolicy` says how often and how long to try, how long to wait between tries
(exponential backoff with full jitter, or what the server asked for in ``Retry-After`` /
``X-RateLimit-Reset``) and which failures are worth another try (statuses, exception types,
and exception types that fail fast even when they look transient). :func:`retry` runs an
attempt function under a policy; each caller keeps its own settings.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import logging

T = TypeVar("T")

# Reset values this large are epoch seconds; anything smaller is taken as seconds-from-now.
_EPOCH_THRESHOLD = 1e9


@dataclass(frozen=True)
class RetryHints:
    """What a response says about waiting; None where missing or unreadable."""

    remaining: int | None = None
    reset_in: float | None = None
    retry_after: float | None = None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def _retry_after(text: str | None, wall_now: float) -> float | None:
    seconds = _number(text)
    if seconds is not None:
        return max(0.0, seconds)
    if not text:
        return None
    try:
        from email.utils import parsedate_to_datetime  # email + socket: ~3 ms, rarely needed

        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - wall_now)


def parse_hints(headers: Mapping[str, str], wall_now: float) -> RetryHints:
    """Read Retry-After and X-RateLimit-*; ``headers`` must match names case-insensitively."""
    remaining = _number(headers.get("x-ratelimit-remaining"))
    reset = _number(headers.get("x-ratelimit-reset"))
    reset_in: float | None = None
    if reset is not None:
        reset_in = reset - wall_now if reset >= _EPOCH_THRESHOLD else reset
    return RetryHints(
        remaining=None if remaining is None else max(0, int(remaining)),
        reset_in=reset_in,
        retry_after=_retry_after(headers.get("retry-after"), wall_now),
    )


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries within ``max_retry_seconds`` (the deadline).

    Retried: statuses in ``retry_statuses`` (and 5xx when ``retry_server_errors``), and
    exceptions that are instances of ``retry_on`` but not of ``fail_fast``.
    """

    max_attempts: int = 8
    max_retry_seconds: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    reset_jitter: float = 0.25
    retry_statuses: frozenset[int] = frozenset({408, 429})
    retry_server_errors: bool = True
    retry_on: tuple[type[BaseException], ...] = ()
    fail_fast: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_retry_seconds < 0 or self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("retry durations must not be negative")

    def retries_status(self, status: int) -> bool:
        """Statuses after which the same request may succeed."""
        return (self.retry_server_errors and status >= 500) or status in self.retry_statuses

    def retries_exception(self, exc: BaseException) -> bool:
        return isinstance(exc, self.retry_on) and not isinstance(exc, self.fail_fast)

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter after the ``failures``-th failure (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, failures - 1))
        return rng.uniform(0.0, ceiling)

    def hinted_wait(self, hints: RetryHints, failures: int, rng: random.Random) -> float:
        """Retry-After if given, else until the rate window resets (jittered), else backoff."""
        if hints.retry_after is not None:
            return hints.retry_after
        if hints.reset_in is not None and hints.reset_in > 0:
            return hints.reset_in + rng.uniform(0.0, self.reset_jitter)
        return self.backoff(failures, rng)


@dataclass(frozen=True)
class Attempt:
    """The try being made: its number (1-based) and the loop's clock readings."""

    number: int
    started: float
    deadline: float


@dataclass(frozen=True)
class Again:
    """An attempt failed in a way worth another try.

    ``wait`` overrides the policy's backoff; ``waited_elsewhere`` says the caller already
    holds the wait somewhere else (a shared rate limiter), so the loop does not sleep it.
    """

    reason: str
    status: int | None = None
    wait: float | None = None
    waited_elsewhere: bool = False
    error: BaseException | None = None


@dataclass(frozen=True)
class GaveUp:
    """Why the loop stopped: the last failure, how many tries and how long they took."""

    last: Again
    attempts: int
    elapsed: float


def retry(
    attempt: Callable[[Attempt], T | Again],
    policy: RetryPolicy,
    *,
    gave_up: Callable[[GaveUp], BaseException],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    describe: Callable[[BaseException], str] = lambda exc: type(exc).__name__,
    log: Callable[[Again, int, float], None] | None = None,
) -> T:
    """Call ``attempt`` until it returns a value, raises, or the policy is spent.

    ``attempt`` returns :class:`Again` for a retryable failure; an exception the policy
    retries counts as ``Again(describe(exc))``; any other exception propagates at once.
    When no try is left, ``gave_up`` builds the exception to raise. ``log`` hears of each
    retry (the failure, its attempt number and the wait).
    """
    chance = rng or random.Random()
    started = clock()
    deadline = started + policy.max_retry_seconds
    number = 0
    while True:
        number += 1
        try:
            result = attempt(Attempt(number, started, deadline))
        except Exception as exc:
            if not policy.retries_exception(exc):
                raise
            result = Again(describe(exc), error=exc)
        if not isinstance(result, Again):
            return result
        wait = result.wait if result.wait is not None else policy.backoff(number, chance)
        elapsed = clock() - started
        if number >= policy.max_attempts or elapsed + wait > policy.max_retry_seconds:
            raise gave_up(GaveUp(result, number, elapsed))
        if log is not None:
            log(result, number, wait)
        if not result.waited_elsewhere:
            sleep(wait)


def logger_for(
    logger: logging.Logger, what: Callable[[], str]
) -> Callable[[Again, int, float], None]:
    """A ``log`` callback for :func:`retry` that reports at INFO level."""

    def log(again: Again, number: int, wait: float) -> None:
        logger.info("%s: %s, retry %d in %.2f s", what(), again.reason, number, wait)

    return log
