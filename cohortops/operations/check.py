"""`plan --check`: prove each destination's endpoint, keys and permissions before a plan is
reviewed, with requests that change nothing.

- REST API key: ``POST /users/track`` with ``{}``. Braze checks the key and its ``users.track``
  permission first (401/403), then refuses the empty body (400, nothing applied): a 400 is the
  proof that the endpoint is Braze and the key may write.
- Cohort import keys: ``POST /partners/{partner}/cohorts`` with the keys and an empty
  ``cohort_id``: the keys are checked first (401), then the id is refused (400, nothing created).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cohortops.config import Config
from cohortops.config.model import CohortImportDelivery, Secret
from cohortops.errors import CohortopsError
from cohortops.http.client import HTTPError, describe, post, timeouts, transport_for

TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    what: str  # "destination braze-prod" / "connection kubit"
    endpoint: str
    ok: bool
    detail: str

    def line(self) -> str:
        mark = "ok" if self.ok else "FAILED"
        return f"check {mark}: {self.what} at {self.endpoint}: {self.detail}"


def _probe(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    transport = transport_for(url, TIMEOUT)
    try:
        response = post(transport, url, body, headers, timeouts(TIMEOUT))
    except HTTPError as exc:
        return None, describe(exc)
    finally:
        transport.close()
    return response.status_code, ""


def _verdict(
    status: int | None, failure: str, accepted: str, key: str, service: str = "Braze"
) -> tuple[bool, str]:
    if status is None:
        return False, f"cannot connect ({failure}); check rest_endpoint and the network"
    if status == 400 or 200 <= status < 300:
        return True, accepted
    if status == 401:
        return False, f"HTTP 401: {key} is not accepted by this endpoint"
    if status == 403:
        return False, f"HTTP 403: {key} lacks the permission (users.track)"
    if status in (301, 302, 307, 308, 404):
        return False, f"HTTP {status}: rest_endpoint does not point at a {service} REST endpoint"
    return False, f"HTTP {status}: {service} did not answer as expected; try again later"


def run_checks(config: Config) -> Iterator[CheckResult]:
    used = {config.connection_of(c).id for c in config.cohorts.values()}
    for dest_id in sorted({config.connections[c].destination for c in used}):
        dest = config.destinations[dest_id]
        try:
            base = dest.rest_endpoint.reveal().rstrip("/")
            key = dest.api_key.reveal()
        except CohortopsError as exc:
            yield CheckResult(f"destination {dest_id}", "?", False, exc.message)
            continue
        if dest.kind == "lytics":
            # An empty collect batch: authenticated like any write, and it changes no profile.
            status, failure = _probe(
                f"{base}/collect/json/{dest.stream}",
                b"[]",
                {"Authorization": key, "Content-Type": "application/json"},
            )
            ok, detail = _verdict(
                status, failure, "reachable, Lytics token accepted", "api_key", "Lytics"
            )
            yield CheckResult(f"destination {dest_id}", base, ok, detail)
            continue
        status, failure = _probe(
            f"{base}/users/track",
            b"{}",
            {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        ok, detail = _verdict(status, failure, "reachable, api_key accepted", "api_key")
        yield CheckResult(f"destination {dest_id}", base, ok, detail)
    for conn_id in sorted(used):
        conn = config.connections[conn_id]
        delivery = conn.delivery
        if not isinstance(delivery, CohortImportDelivery):
            continue
        endpoint: Secret = (
            delivery.rest_endpoint or config.destinations[conn.destination].rest_endpoint
        )
        try:
            base = endpoint.reveal().rstrip("/")
            body = (
                b'{"partner_api_key": '
                + _json(delivery.partner_api_key.reveal())
                + b', "client_secret": '
                + _json(delivery.client_secret.reveal())
                + b', "cohort_id": ""}'
            )
        except CohortopsError as exc:
            yield CheckResult(f"connection {conn_id}", "?", False, exc.message)
            continue
        status, failure = _probe(
            f"{base}/partners/{conn.partner}/cohorts",
            body,
            {"Content-Type": "application/json"},
        )
        ok, detail = _verdict(
            status,
            failure,
            "reachable, partner_api_key and client_secret accepted",
            "partner_api_key or client_secret",
        )
        yield CheckResult(f"connection {conn_id}", base, ok, detail)


def _json(text: str) -> bytes:
    import json

    return json.dumps(text).encode()
