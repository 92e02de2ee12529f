"""The one module of :mod:`cohortops.lytics` that sends requests, through ``cohortops.http``.

Every request: the token in the ``Authorization`` header as is (or ``?key=`` for older
accounts), and the shared retry loop with Lytics' policy: 429 (``Retry-After`` honoured, capped),
408, 5xx, timeouts and dropped connections are retried within ``max_attempts`` and
``max_seconds``. The JSON envelope's ``status`` may be a number or a string; an envelope status
of 400 or more is an error even under HTTP 200. Messages never carry the token: callers pass
only the name of the variable that holds it. Safe to use from several threads (one pooled
transport per in-flight request).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from cohortops.errors import LyticsError
from cohortops.http import client as http
from cohortops.http.masking import mask
from cohortops.http.pool import TransportPool
from cohortops.http.retry import Again, Attempt, GaveUp, RetryPolicy, parse_hints, retry

MAX_RETRY_AFTER = 30.0
POLICY = RetryPolicy(
    max_attempts=6,
    max_retry_seconds=120.0,
    backoff_base=0.25,
    backoff_cap=10.0,
    retry_statuses=frozenset({408, 429}),
    retry_on=http.NETWORK_ERRORS,
)


def envelope_status(body: Any) -> int | None:
    """The envelope's ``status`` as an int: ``200`` and ``"200"`` alike; None when absent."""
    if not isinstance(body, dict):
        return None
    value = body.get("status")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class LyticsHttp:
    """A Lytics API client: one base URL, one token."""

    def __init__(
        self,
        endpoint: str,
        token: str,
        *,
        what: str,
        token_hint: str | None = None,
        key_in_query: bool = False,
        timeout: float = 30.0,
        max_attempts: int = POLICY.max_attempts,
        max_seconds: float = POLICY.max_retry_seconds,
        transport: http.Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.what = what  # "Cohort churn-risk" / "Destination lytics-prod", for messages
        self._token = token
        self._hint = token_hint
        self._key_in_query = key_in_query
        self._timeout = http.timeouts(timeout)
        self.policy = dataclasses.replace(
            POLICY, max_attempts=max_attempts, max_retry_seconds=max_seconds
        )
        self._sleep = sleep
        shared = transport or http.proxy_transport(self.endpoint)
        self._pool = TransportPool(timeout=timeout, shared=shared)
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> LyticsHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scrub(self, text: str) -> str:
        text = mask(text, [self._token])
        line = text.strip().splitlines()[0] if text.strip() else ""
        return line[:300]

    def _fail(self, status: int | None, path: str, detail: str) -> LyticsError:
        where = f"{self.what}: Lytics {path} at {self.endpoint}"
        said = f": {detail}" if detail else ""
        if status in (401, 403):
            var = f" in {self._hint}" if self._hint else ""
            return LyticsError(
                f"{where} refused the API token{var} ({status}{said}).",
                hint="Check the token and its role (segment read / data write).",
                status=status,
                aborts_run=True,
            )
        if status == 404:
            return LyticsError(
                f"{where} answered 404{said}.",
                hint="Check the segment id or slug, the stream and the endpoint.",
                status=status,
                aborts_run=True,
            )
        shown = status if status is not None else "no answer"
        return LyticsError(f"{where} failed ({shown}{said}).", status=status)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        content: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """The parsed JSON body of a successful answer; :class:`LyticsError` otherwise."""
        query: dict[str, str | int] = dict(params or {})
        if self._key_in_query:
            query["key"] = self._token
        url = http.URL(self.endpoint + path, params=query)
        headers = {"User-Agent": http.USER_AGENT, "Accept": "application/json"}
        if not self._key_in_query:
            headers["Authorization"] = self._token
        if content is not None:
            headers["Content-Type"] = content_type

        def attempt(_: Attempt) -> tuple[Any] | Again:
            with self._lock:
                self.requests += 1
            with self._pool.transport() as transport:
                response = http.send(transport, method, url, content, headers, self._timeout)
            status = response.status_code
            try:
                body = orjson.loads(response.content) if response.content else None
            except orjson.JSONDecodeError:
                body = None
            inner = envelope_status(body)
            if status < 400 and (inner is None or inner < 400):
                return (body,)
            if status < 400 and inner is not None:
                status = inner
            message = body.get("message") if isinstance(body, dict) else None
            detail = self._scrub(str(message) if message else response.text)
            if not self.policy.retries_status(status):
                raise self._fail(status, path, detail)
            hints = parse_hints(response.headers, time.time())
            wait = None
            if status == 429 and hints.retry_after is not None:
                wait = min(MAX_RETRY_AFTER, hints.retry_after)
            return Again(detail or str(status), status=status, wait=wait)

        def gave_up(end: GaveUp) -> LyticsError:
            detail = f"{end.last.reason}; gave up after {end.attempts} attempts"
            error = self._fail(end.last.status, path, detail)
            error.aborts_run = True
            return error

        def counted(again: Again, number: int, wait: float) -> None:
            with self._lock:
                self.retries += 1

        result = retry(
            attempt,
            self.policy,
            gave_up=gave_up,
            sleep=self._sleep,
            describe=http.describe,
            log=counted,
        )
        return result[0]
