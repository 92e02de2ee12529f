"""The Braze REST client: one destination, rate limited, retrying, thread-safe.

Every method may be called from many threads at once; they share the client's rate limiters
and its pool of transports (one per in-flight request, see ``cohortops.http.pool``). Secrets (the REST API key, and the
partner key and client secret passed per call) are never logged, quoted in errors or shown in
``repr``; text Braze sends back is redacted before it is quoted.
"""

from __future__ import annotations

import random as random_module
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from urllib.parse import quote, urlsplit

from cohortops.braze.errors import BrazeRequestError, RequestContext
from cohortops.braze.payloads import cohort_body, cohort_users_body, export_body, track_body
from cohortops.braze.ratelimit import RateLimiter
from cohortops.braze.requests import (
    AttributeBatch,
    BatchResult,
    BatchT,
    CohortImportBatch,
    ExportResult,
)
from cohortops.braze.responses import acknowledgement, json_body, track_result
from cohortops.braze.segment_export import (
    SegmentExport,
    segment_export_body,
    segment_export_result,
)
from cohortops.braze.sender import Sender, braze_policy
from cohortops.braze.splitting import MAX_COHORT_IDS
from cohortops.errors import BrazeError
from cohortops.http.client import URL, Response, Transport, proxy_transport
from cohortops.http.pool import TransportPool

EXPORT_MAX_IDS = 50
DEFAULT_EXPORT_FIELDS = ("external_id", "user_aliases", "braze_id")
_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


class _AuthHeaders(dict[str, str]):
    """Request headers whose repr (in debuggers, tracebacks with locals) hides the key."""

    def __repr__(self) -> str:
        return repr({k: "[redacted]" if k == "Authorization" else v for k, v in self.items()})


def _base_url(url: str, what: str, destination_id: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BrazeError(
            f"The {what} {url!r} of destination {destination_id} is not an http(s) URL.",
            hint="Use the REST endpoint of the workspace's instance, e.g. "
            "https://rest.fra-01.braze.eu.",
        )
    return url.rstrip("/")


class BrazeClient:
    """Calls ``/users/track``, the partner cohort endpoints and ``/users/export/ids``.

    ``requests_per_second`` is this tool's share of the workspace's ``/users/track`` limit;
    partner cohort calls get their own limiter (``cohort_requests_per_second``, default the
    same rate) and exports theirs (250/min, Braze's limit for newer workspaces). Retries are
    bounded by ``max_attempts`` sends and ``max_retry_seconds`` per request, waiting
    ``backoff_base * 2**n`` (capped at ``backoff_cap``, full jitter). ``api_key_hint`` names
    where the key came from (e.g. "BRAZE_API_KEY") for error messages. ``cohort_endpoint``
    overrides the base URL of the partner endpoints. ``transport``, ``clock``, ``sleep``,
    ``wall_clock`` and ``random`` exist for tests.
    """

    def __init__(
        self,
        rest_endpoint: str,
        api_key: str,
        *,
        destination_id: str,
        requests_per_second: float = 500,
        max_objects_per_request: int = 75,
        timeout: float = 30,
        max_attempts: int = 8,
        max_retry_seconds: float = 120,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: random_module.Random | None = None,
        api_key_hint: str | None = None,
        cohort_endpoint: str | None = None,
        cohort_requests_per_second: float | None = None,
        export_requests_per_second: float = 250 / 60,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.destination_id = destination_id
        self.rest_endpoint = _base_url(rest_endpoint, "rest_endpoint", destination_id)
        self.cohort_endpoint = _base_url(
            cohort_endpoint or rest_endpoint, "cohort_endpoint", destination_id
        )
        self.max_objects_per_request = max_objects_per_request
        self._api_key_hint = api_key_hint
        self._auth = _AuthHeaders({**_JSON, "Authorization": f"Bearer {api_key}"})
        rng = random or random_module.Random()

        def limiter(rate: float) -> RateLimiter:
            return RateLimiter(rate, clock=clock, sleep=sleep, rng=rng)

        self.track_limiter = limiter(requests_per_second)
        self.cohort_limiter = limiter(cohort_requests_per_second or requests_per_second)
        self.export_limiter = limiter(export_requests_per_second)
        pool = TransportPool(
            timeout=timeout, shared=transport or proxy_transport(self.rest_endpoint)
        )
        policy = braze_policy(
            max_attempts=max_attempts,
            max_retry_seconds=max_retry_seconds,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
        )
        # The sender also keeps every secret this client is handed, to redact Braze's texts.
        self._sender = Sender(
            pool,
            policy,
            timeout=timeout,
            clock=clock,
            sleep=sleep,
            wall_clock=wall_clock,
            rng=rng,
            secrets=frozenset({api_key}),
        )
        self._track_url = URL(f"{self.rest_endpoint}/users/track")
        self._export_url = URL(f"{self.rest_endpoint}/users/export/ids")
        self._segment_url = URL(f"{self.rest_endpoint}/users/export/segment")
        self._track_ctx = self._rest_context("POST /users/track", "users.track")

    def __repr__(self) -> str:
        return (
            f"BrazeClient(destination_id={self.destination_id!r}, "
            f"rest_endpoint={self.rest_endpoint!r}, "
            f"requests_per_second={self.track_limiter.rate!r})"
        )

    def __enter__(self) -> BrazeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection. In-flight requests finish first."""
        self._sender.pool.close()

    @property
    def requests_per_second(self) -> float:
        return self.track_limiter.rate

    # -- public endpoints -------------------------------------------------------------------

    def track_attributes(self, batch: AttributeBatch) -> BatchResult[AttributeBatch]:
        """Send one ``/users/track`` batch. Failures come back in the result, never raised."""
        if len(batch.ids) > self.max_objects_per_request:
            raise ValueError(
                f"batch of {len(batch.ids)} objects exceeds {self.max_objects_per_request}"
            )
        if not batch.ids:
            return BatchResult(batch, (), ())
        try:
            response = self._sender.post(
                self.track_limiter, self._track_url, track_body(batch), self._auth, self._track_ctx
            )
            body = self._acknowledged(response, self._track_ctx)
        except BrazeRequestError as error:
            return _failed(batch, error)
        return track_result(batch, body, self._sender.secrets)

    def create_or_rename_cohort(
        self,
        partner: str,
        cohort_id: str,
        name: str,
        *,
        partner_api_key: str,
        client_secret: str,
        created_at: datetime,
        partner_api_key_hint: str | None = None,
        client_secret_hint: str | None = None,
    ) -> None:
        """Create the partner cohort, or rename it when ``cohort_id`` exists. Raises on failure."""
        if not name:
            raise ValueError("a Braze cohort needs a non-empty name")
        path = f"/partners/{quote(partner, safe='')}/cohorts"
        ctx = self._partner_context(path, partner, partner_api_key_hint, client_secret_hint)
        self._sender.remember(partner_api_key, client_secret)
        body = cohort_body(cohort_id, name, created_at, partner_api_key, client_secret)
        response = self._sender.post(
            self.cohort_limiter,
            self.cohort_endpoint + path,
            body,
            _JSON,
            ctx,
        )
        self._acknowledged(response, ctx)

    def cohort_import(
        self,
        batch: CohortImportBatch,
        *,
        partner_api_key: str,
        client_secret: str,
        partner_api_key_hint: str | None = None,
        client_secret_hint: str | None = None,
    ) -> BatchResult[CohortImportBatch]:
        """Send one cohort membership change. Braze's 2xx acknowledgement covers every id."""
        if len(batch.ids) > MAX_COHORT_IDS:
            raise ValueError(f"batch of {len(batch.ids)} ids exceeds {MAX_COHORT_IDS}")
        if not batch.ids:
            return BatchResult(batch, (), ())
        path = f"/partners/{quote(batch.partner, safe='')}/cohorts/users"
        ctx = self._partner_context(path, batch.partner, partner_api_key_hint, client_secret_hint)
        self._sender.remember(partner_api_key, client_secret)
        body = cohort_users_body(batch, partner_api_key, client_secret)
        try:
            response = self._sender.post(
                self.cohort_limiter,
                self.cohort_endpoint + path,
                body,
                _JSON,
                ctx,
            )
            self._acknowledged(response, ctx)
        except BrazeRequestError as error:
            return _failed(batch, error)
        return BatchResult(batch, batch.ids, ())

    def export_ids(
        self,
        external_ids: Iterable[str] = (),
        user_aliases: Iterable[Mapping[str, str]] = (),
        fields_to_export: Sequence[str] = DEFAULT_EXPORT_FIELDS,
    ) -> ExportResult:
        """Look users up by external id and/or alias, 50 per request. Raises on failure.

        Unknown ids come back in ``invalid_user_ids``: this is Braze's existence check.
        """
        users: list[dict[str, object]] = []
        invalid: list[str] = []
        for body in _export_bodies(list(external_ids), list(user_aliases), fields_to_export):
            found, missing = self._export_one(body)
            users.extend(found)
            invalid.extend(missing)
        return ExportResult(tuple(users), tuple(invalid))

    def export_segment(
        self,
        segment_id: str,
        fields_to_export: Sequence[str] = ("external_id",),
        output_format: str = "zip",
    ) -> SegmentExport:
        """Start ``POST /users/export/segment``; the archive is fetched with ``segment_download``.

        A 429 (the segment's previous export still running) is retried like any rate limit.
        """
        ctx = self._rest_context("POST /users/export/segment", "users.export.segment")
        body = segment_export_body(segment_id, fields_to_export, output_format)
        response = self._sender.post(self.export_limiter, self._segment_url, body, self._auth, ctx)
        return segment_export_result(segment_id, json_body(response.content))

    # -- internals ---------------------------------------------------------------------------

    def _export_one(self, body: bytes) -> tuple[list[dict[str, object]], list[str]]:
        ctx = self._rest_context("POST /users/export/ids", "users.export.ids")
        response = self._sender.post(
            self.export_limiter,
            self._export_url,
            body,
            self._auth,
            ctx,
        )
        decoded = self._acknowledged(response, ctx)
        users = decoded.get("users")
        invalid = decoded.get("invalid_user_ids")
        return (
            [u for u in users if isinstance(u, dict)] if isinstance(users, list) else [],
            [str(i) for i in invalid] if isinstance(invalid, list) else [],
        )

    def _acknowledged(self, response: Response, ctx: RequestContext) -> dict[str, object]:
        return acknowledgement(
            response.status_code,
            response.headers.get("content-type"),
            response.content,
            ctx,
            self._sender.secrets,
        )

    def _rest_context(self, method_path: str, permission: str) -> RequestContext:
        return RequestContext(
            destination_id=self.destination_id,
            method_path=method_path,
            base_url=self.rest_endpoint,
            permission=permission,
            api_key_hint=self._api_key_hint,
        )

    def _partner_context(
        self, path: str, partner: str, key_hint: str | None, secret_hint: str | None
    ) -> RequestContext:
        return RequestContext(
            destination_id=self.destination_id,
            method_path=f"POST {path}",
            base_url=self.cohort_endpoint,
            partner=partner,
            partner_api_key_hint=key_hint,
            client_secret_hint=secret_hint,
        )


def _failed(batch: BatchT, error: BrazeRequestError) -> BatchResult[BatchT]:
    reason = error.message
    return BatchResult(batch, (), tuple((i, reason) for i in batch.ids), error)


def _export_bodies(
    external_ids: list[str], user_aliases: list[Mapping[str, str]], fields: Sequence[str]
) -> Iterable[bytes]:
    for i in range(0, len(external_ids), EXPORT_MAX_IDS):
        chunk = external_ids[i : i + EXPORT_MAX_IDS]
        yield export_body(external_ids=chunk, fields_to_export=fields)
    for i in range(0, len(user_aliases), EXPORT_MAX_IDS):
        aliases = user_aliases[i : i + EXPORT_MAX_IDS]
        yield export_body(user_aliases=aliases, fields_to_export=fields)
