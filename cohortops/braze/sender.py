"""Sending one POST: wait for a rate-limit slot, send, classify, retry within bounds.

Retried: 429 (after Retry-After, else the window reset, else backoff; every sender of the
limiter waits too), 408/423/5xx and network failures (exponential backoff, full jitter).
Re-sending is safe because every cohortops write is an idempotent array add/remove or
cohort change. Anything else raises the typed error at once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping

import httpx

from cohortops.braze.errors import (
    BrazeRequestError,
    RequestContext,
    error_for_status,
    retries_exhausted,
)
from cohortops.braze.pool import TransportPool
from cohortops.braze.ratelimit import RateLimiter, RateLimitInfo, parse_rate_headers
from cohortops.braze.responses import braze_message
from cohortops.braze.retry import RetryPolicy, is_retryable_status

log = logging.getLogger("cohortops.braze")

# Transport failures that say nothing about the request itself: retry them.
_RETRYABLE_EXC = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


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
        self._timeout = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
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
        url: httpx.URL | str,
        body: bytes,
        headers: Mapping[str, str],
        ctx: RequestContext,
    ) -> httpx.Response:
        """A 2xx response, or a typed ``BrazeRequestError``."""
        policy = self.policy
        start = self._clock()
        deadline = start + policy.max_retry_seconds
        attempt = 0
        while True:
            attempt += 1
            if not limiter.acquire(deadline):
                raise retries_exhausted(
                    ctx,
                    attempt - 1,
                    self._clock() - start,
                    "the rate limit leaves no send slot before the retry deadline",
                    None,
                )
            info: RateLimitInfo | None = None
            status: int | None = None
            try:
                response = self._send_once(url, body, headers)
                info = parse_rate_headers(response.headers, self._wall_clock())
            except _RETRYABLE_EXC as exc:
                failure = f"{type(exc).__name__} talking to {ctx.base_url}"
                wait = policy.backoff(attempt, self._rng)
            except httpx.HTTPError as exc:
                raise BrazeRequestError(
                    f"Could not send {ctx.method_path} for destination {ctx.destination_id}: "
                    f"{type(exc).__name__}.",
                    hint=f"Check the endpoint URL {ctx.base_url}.",
                    path=ctx.method_path,
                    destination_id=ctx.destination_id,
                ) from None
            finally:
                limiter.release(info)
            if info is not None:
                status = response.status_code
                if 200 <= status < 300:
                    return response
                if not is_retryable_status(status):
                    message = braze_message(response.content, self._secrets)
                    raise error_for_status(status, ctx, message)
                failure = f"HTTP {status}"
                if status == 429:
                    wait = policy.rate_limited_wait(info, attempt, self._rng)
                    # The window is spent for every sender: the limiter holds them all, this
                    # request included (its next acquire waits), so it sleeps no more itself.
                    limiter.pause_until(self._clock() + wait)
                else:
                    wait = policy.backoff(attempt, self._rng)
            elapsed = self._clock() - start
            if attempt >= policy.max_attempts or elapsed + wait > policy.max_retry_seconds:
                raise retries_exhausted(ctx, attempt, elapsed, failure, status)
            log.info(
                "%s for %s: %s, retry %d in %.2f s",
                ctx.method_path,
                ctx.destination_id,
                failure,
                attempt,
                wait,
            )
            if status != 429:
                self._sleep(wait)

    def _send_once(
        self, url: httpx.URL | str, body: bytes, headers: Mapping[str, str]
    ) -> httpx.Response:
        request = httpx.Request(
            "POST", url, headers=headers, content=body, extensions={"timeout": self._timeout}
        )
        with self.pool.transport() as transport:
            response = transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        return response
