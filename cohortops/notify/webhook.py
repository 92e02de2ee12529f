"""A JSON (Slack-compatible) webhook, sent through the shared HTTP layer.

One retry after a 5xx, 408 or 429 (waiting what Retry-After asks, within the deadline) or a
timeout or dropped connection; a refused connection, an unknown host or a TLS failure is a
configuration problem and fails at once.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from cohortops import __version__
from cohortops.http.client import (
    CONNECT_FAILURES,
    NETWORK_ERRORS,
    USER_AGENT,
    HTTPError,
    Transport,
    describe,
    post,
    timeouts,
    transport_for,
)
from cohortops.http.retry import Again, Attempt, GaveUp, RetryPolicy, parse_hints, retry
from cohortops.notify.addresses import refused_target
from cohortops.notify.report import TIMEOUT, NotifyError, RunReport, retried

WEBHOOK_POLICY = RetryPolicy(
    max_attempts=2,
    max_retry_seconds=30.0,
    backoff_base=1.0,
    backoff_cap=1.0,
    retry_on=NETWORK_ERRORS,
    fail_fast=CONNECT_FAILURES,
)


def webhook_payload(report: RunReport) -> dict[str, Any]:
    """Slack reads ``text``; other receivers read the structured ``cohortops`` object."""
    return {
        "text": f"{report.subject()}\n{report.body()}".rstrip("\n"),
        "cohortops": {"version": __version__, **report.fields()},
    }


def post_webhook(
    url: str,
    report: RunReport,
    *,
    timeout: float = TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    transport: Transport | None = None,
    rng: random.Random | None = None,
) -> str:
    if not url.lower().startswith(("https://", "http://")):
        raise NotifyError("the webhook URL must start with https:// or http://")
    refused = refused_target(url, resolve=transport is None)
    if refused is not None:
        raise NotifyError(refused)
    body = json.dumps(webhook_payload(report)).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    policy = WEBHOOK_POLICY
    chance = rng or random.Random()
    sender = transport_for(url, timeout, transport)

    def attempt(now: Attempt) -> int | Again:
        response = post(sender, url, body, headers, timeouts(timeout))
        status = response.status_code
        if 200 <= status < 300:
            return status
        answered = f"the receiver answered HTTP {status}"
        if 300 <= status < 400:  # never followed: it could point at a metadata address
            raise NotifyError(f"{answered}, a redirect; webhook redirects are never followed")
        if not policy.retries_status(status):
            raise NotifyError(answered)
        hints = parse_hints(response.headers, time.time())
        return Again(answered, status, wait=policy.hinted_wait(hints, now.number, chance))

    def gave_up(end: GaveUp) -> NotifyError:
        return NotifyError(f"{end.last.reason}{retried(end.attempts)}")

    try:
        status = retry(attempt, policy, gave_up=gave_up, sleep=sleep, rng=chance, describe=describe)
    except HTTPError as exc:
        raise NotifyError(describe(exc)) from None
    finally:
        if transport is None:
            sender.close()
    return f"HTTP {status}"
