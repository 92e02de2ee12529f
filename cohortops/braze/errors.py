"""Typed Braze errors and the messages that tell the user what to do about them.

Every message names the destination and the endpoint but never a secret: callers pass only
hints (environment variable names), and any text quoted from Braze is redacted by the client
before it reaches these builders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cohortops.errors import BrazeError

__all__ = [
    "BrazeAuthError",
    "BrazeBadRequestError",
    "BrazeEndpointError",
    "BrazeError",
    "BrazeNotAcknowledgedError",
    "BrazePermissionError",
    "BrazeRequestError",
    "BrazeRetriesExhausted",
    "RequestContext",
    "error_for_status",
    "rate_budget_exhausted",
    "retries_exhausted",
]


class BrazeRequestError(BrazeError):
    """A request to Braze failed; carries where and how, never what was sent.

    ``aborts_run`` says whether every later request of the same kind will fail the same way
    (bad credentials, wrong endpoint), so an applier should stop instead of sending the rest.
    """

    aborts_run: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        path: str = "",
        destination_id: str = "",
    ) -> None:
        self.status = status
        self.path = path
        self.destination_id = destination_id
        super().__init__(message, hint=hint)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, path={self.path!r}, message={str(self)!r})"


class BrazeAuthError(BrazeRequestError):
    """401: the REST API key, or for partner endpoints the partner key / data import key."""

    aborts_run = True


class BrazePermissionError(BrazeRequestError):
    """403: the key is valid but lacks the endpoint's permission (or the feature is off)."""

    aborts_run = True


class BrazeEndpointError(BrazeRequestError):
    """404 or a redirect: the base URL or partner slug does not point at a Braze endpoint."""

    aborts_run = True


class BrazeNotAcknowledgedError(BrazeRequestError):
    """A 2xx whose body is not Braze's acknowledgement (a proxy, a captive portal, a wrong
    endpoint): nothing of the request counts as applied, and every later request would get the
    same answer."""

    aborts_run = True


class BrazeBadRequestError(BrazeRequestError):
    """400 and other non-retryable 4xx: Braze refused this request; nothing of it applied."""


class BrazeUnreachableError(BrazeRequestError):
    """No connection to the endpoint at all (refused, DNS, TLS): not Braze being busy.

    Nothing was sent, and every later request to that endpoint would fail the same way.
    """

    aborts_run = True


def unreachable(ctx: RequestContext, failure: BaseException) -> BrazeUnreachableError:
    """The one-line error for a connection that never opened, with its real cause."""
    from cohortops.http.client import describe

    text = str(failure)  # names only the exception types the transport saw (never echoed whole)
    host = ctx.base_url.split("://", 1)[-1].split("/", 1)[0]
    if "ConnectionRefused" in text:
        cause = "connection refused"
    elif "gaierror" in text:
        cause = f"DNS lookup of {host.rsplit(':', 1)[0]} failed"
    elif "TLS" in text or "SSL" in text:
        found = re.search(r"\((\w+)\)", text)
        cause = f"TLS handshake failed ({found.group(1) if found else 'SSLError'})"
    else:
        cause = describe(failure)
    return BrazeUnreachableError(
        f"Cannot reach Braze at {ctx.base_url} (rest_endpoint of destination "
        f"{ctx.destination_id}): {cause}. Nothing was sent.",
        hint="Check rest_endpoint in the configuration and the network or proxy between here "
        "and Braze; `cohortops plan --check` tests every destination without changing anything.",
        path=ctx.method_path,
        destination_id=ctx.destination_id,
    )


class BrazeRetriesExhausted(BrazeRequestError):
    """429, 423, 5xx or network failures persisted past the attempt or time budget."""


@dataclass(frozen=True)
class RequestContext:
    """What an error message may say about a request. Holds hints, never secret values."""

    destination_id: str
    method_path: str
    base_url: str
    permission: str | None = None
    api_key_hint: str | None = None
    partner: str | None = None
    partner_api_key_hint: str | None = None
    client_secret_hint: str | None = None


def _key_name(ctx: RequestContext) -> str:
    if ctx.api_key_hint:
        return ctx.api_key_hint
    return f"the api_key of destination {ctx.destination_id}"


def _auth_error(ctx: RequestContext, status: int) -> BrazeAuthError:
    if ctx.partner is not None:
        key = ctx.partner_api_key_hint or "the connection's partner_api_key"
        secret = ctx.client_secret_hint or "its client_secret"
        return BrazeAuthError(
            f"Braze rejected the partner credentials for partner {ctx.partner!r} on destination "
            f"{ctx.destination_id} ({status} at {ctx.method_path}).",
            hint=(
                f"Check {key} (issued by Braze to the partner) and {secret} (the Data Import Key "
                f"on the partner's page in Braze), and that the partner is enabled for this "
                f"workspace on {ctx.base_url}."
            ),
            status=status,
            path=ctx.method_path,
            destination_id=ctx.destination_id,
        )
    permission = ctx.permission or "this endpoint's"
    return BrazeAuthError(
        f"Braze rejected the API key of destination {ctx.destination_id} ({status}).",
        hint=(
            f"Check {_key_name(ctx)} and that it has the {permission} permission; a key of "
            f"another Braze instance than {ctx.base_url} is rejected too."
        ),
        status=status,
        path=ctx.method_path,
        destination_id=ctx.destination_id,
    )


def error_for_status(
    status: int, ctx: RequestContext, braze_message: str | None
) -> BrazeRequestError:
    """The typed error for a non-retryable status. ``braze_message`` must be redacted already."""
    quoted = f": {braze_message}" if braze_message else ""
    if status == 401:
        return _auth_error(ctx, status)
    if status == 403:
        permission = ctx.permission or "the needed"
        return BrazePermissionError(
            f"Braze denied {ctx.method_path} for destination {ctx.destination_id} (403{quoted}).",
            hint=(
                f"Give the REST API key in {_key_name(ctx)} the {permission} permission "
                "(Braze: Settings > APIs and Identifiers), or check that the workspace has "
                "this feature."
            ),
            status=status,
            path=ctx.method_path,
            destination_id=ctx.destination_id,
        )
    if status == 404 or 300 <= status < 400:
        target = f"the partner slug {ctx.partner!r} and " if ctx.partner is not None else ""
        return BrazeEndpointError(
            f"Braze has no {ctx.method_path} at {ctx.base_url} for destination "
            f"{ctx.destination_id} ({status}).",
            hint=f"Check {target}the REST endpoint URL of the destination (e.g. "
            "https://rest.fra-01.braze.eu).",
            status=status,
            path=ctx.method_path,
            destination_id=ctx.destination_id,
        )
    return BrazeBadRequestError(
        f"Braze refused {ctx.method_path} for destination {ctx.destination_id} "
        f"({status}{quoted}); nothing of this request was applied.",
        hint="Its members stay unrecorded and are planned again; fix the cause and re-run apply.",
        status=status,
        path=ctx.method_path,
        destination_id=ctx.destination_id,
    )


def retries_exhausted(
    ctx: RequestContext, attempts: int, elapsed: float, last_failure: str, status: int | None
) -> BrazeRetriesExhausted:
    """The error for a request that kept failing in a retryable way."""
    if "no send slot" in last_failure:
        return rate_budget_exhausted(ctx, attempts, elapsed, status)
    return BrazeRetriesExhausted(
        f"{ctx.method_path} for destination {ctx.destination_id} still failed after "
        f"{attempts} attempt(s) over {elapsed:.1f} s (last: {last_failure}).",
        hint="Braze may be degraded or rate limited by other traffic of the workspace; "
        "nothing unacknowledged was recorded, so re-running apply sends the rest.",
        status=status,
        path=ctx.method_path,
        destination_id=ctx.destination_id,
    )


def rate_budget_exhausted(
    ctx: RequestContext, attempts: int, elapsed: float, status: int | None
) -> BrazeRetriesExhausted:
    """The retry budget ran out while the rate limit held the request back."""
    sent = "never sent" if attempts == 0 else f"sent {attempts} time(s), never acknowledged"
    return BrazeRetriesExhausted(
        f"{ctx.method_path} for destination {ctx.destination_id} ran out of its retry budget "
        f"after {elapsed:.1f} s while rate limited ({sent}): the rate limit left no slot to "
        "send it before the budget ended.",
        hint=f"Raise requests_per_second of destination {ctx.destination_id} if the workspace "
        "allows more (it is this tool's share of the workspace limit), or raise the retry "
        "budget; nothing unacknowledged was recorded, so re-running apply sends the rest.",
        status=status,
        path=ctx.method_path,
        destination_id=ctx.destination_id,
    )
