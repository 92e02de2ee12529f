"""Sending one POST: wait for a rate-limit slot, send, classify, retry within bounds.

The loop and the policy are the shared ones (``cohortops.http.retry``); what is Braze's is
the settings (:func:`braze_policy`) and the rate limiter's part. Retried: 429 (after
Retry-After, else the window reset, else backoff; every sender of the limiter waits too),
408/423/5xx and network failures (exponential backoff, full jitter). Re-sending is safe
because every cohortops write is an idempotent array add/remove or cohort change. Anything
else raises the typed error at once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping

from cohortops.braze.errors import (
    BrazeRequestError,
    RequestContext,
    error_for_status,
    retries_exhausted,
    unreachable,
)
from cohortops.braze.ratelimit import RateLimiter, RateLimitInfo, parse_rate_headers
from cohortops.braze.responses import braze_message
from cohortops.http.client import (
    CONNECT_FAILURES,
    NETWORK_ERRORS,
    URL,
    HTTPError,
    Response,
    post,
    timeouts,
)
from cohortops.http.pool import TransportPool
from cohortops.http.retry import Again, Attempt, GaveUp, RetryPolicy, logger_for, retry

log = logging.getLogger("cohortops.braze")

# 423: cohort import "resource locked" (retry semantics undocumented: bounded retry).
RETRY_STATUSES = frozenset({408, 423, 429})


def braze_policy(
    *,
    max_attempts: int = 8,
    max_retry_seconds: float = 120.0,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
) -> RetryPolicy:
    """Braze's settings of the shared policy.

    Retried: what can succeed later on an open connection (429, 408/423, 5xx, timeouts, a
    dropped connection). A connection that never opens (refused, DNS, TLS) is not Braze being
    busy: it fails at once, naming the endpoint, instead of ~8 tries per batch.
    """
    return RetryPolicy(
        max_attempts=max_attempts,
        max_retry_seconds=max_retry_seconds,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        retry_statuses=RETRY_STATUSES,
        retry_on=NETWORK_ERRORS,
        fail_fast=CONNECT_FAILURES,
    )


class Sender:
    """Rate-limited, retrying POSTs through a ``TransportPool``. Thread-safe."""

    def __init__(
        self,
        pool: TransportPool,
        policy: RetryPolicy,
        *,
        timeout: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        wall_clock: Callable[[], float],
        rng: random.Random,
        secrets: frozenset[str],
    ) -> None:
        self.pool = pool
        self.policy = policy
        self._timeout = timeouts(timeout)
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rng = rng
        self._secrets = secrets

    def remember(self, *secrets: str) -> None:
        """Add secrets to redact from any text Braze sends back."""
        if not self._secrets.issuperset(secrets):
            # Rebinding is atomic; a lost race only drops a set that the next call re-adds.
            self._secrets = self._secrets.union(secrets)

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def post(
        self,
        limiter: RateLimiter,
        url: URL | str,
        body: bytes,
        headers: Mapping[str, str],
        ctx: RequestContext,
    ) -> Response:
        """A 2xx response, or a typed ``BrazeRequestError``."""
        policy = self.policy

        def attempt(now: Attempt) -> Response | Again:
            if not limiter.acquire(now.deadline):
                raise retries_exhausted(
                    ctx,
                    now.number - 1,
                    self._clock() - now.started,
                    "the rate limit leaves no send slot before the retry deadline",
                    None,
                )
            info: RateLimitInfo | None = None
            try:
                response = self._send_once(url, body, headers)
                info = parse_rate_headers(response.headers, self._wall_clock())
            except HTTPError as exc:
                if policy.retries_exception(exc):
                    raise
                if isinstance(exc, CONNECT_FAILURES):
                    raise unreachable(ctx, exc) from None
                raise BrazeRequestError(
                    f"Could not send {ctx.method_path} for destination {ctx.destination_id}: "
                    f"{type(exc).__name__}.",
                    hint=f"Check the endpoint URL {ctx.base_url}.",
                    path=ctx.method_path,
                    destination_id=ctx.destination_id,
                ) from None
            finally:
                limiter.release(info)
            status = response.status_code
            if 200 <= status < 300:
                return response
            if not policy.retries_status(status):
                raise error_for_status(status, ctx, braze_message(response.content, self._secrets))
            if status != 429:
                return Again(f"HTTP {status}", status)
            wait = policy.hinted_wait(info, now.number, self._rng)
            # The window is spent for every sender: the limiter holds them all, this request
            # included (its next acquire waits), so it sleeps no more itself.
            limiter.pause_until(self._clock() + wait)
            return Again(f"HTTP {status}", status, wait=wait, waited_elsewhere=True)

        def gave_up(end: GaveUp) -> BrazeRequestError:
            last = end.last
            return retries_exhausted(ctx, end.attempts, end.elapsed, last.reason, last.status)

        return retry(
            attempt,
            policy,
            gave_up=gave_up,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
            describe=lambda exc: f"{type(exc).__name__} talking to {ctx.base_url}",
            log=logger_for(log, lambda: f"{ctx.method_path} for {ctx.destination_id}"),
        )

    def _send_once(self, url: URL | str, body: bytes, headers: Mapping[str, str]) -> Response:
        with self.pool.transport() as transport:
            return post(transport, url, body, headers, self._timeout)
