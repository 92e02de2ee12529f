"""The Braze endpoints' request pipeline, as plain ASGI for speed (no Request/Response objects).

Order: added latency (async, so other requests proceed) -> rate limit -> injected 429 burst ->
injected 5xx -> injected 423 (cohort endpoints) -> auth -> JSON -> apply -> maybe drop the
connection after applying. Rate-limit headers go on every response while a limit is set.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from cohortops.sandbox.handlers import ENDPOINTS, Endpoint
from cohortops.sandbox.ratelimit import RateDecision
from cohortops.sandbox.runtime import Sandbox

Headers = list[tuple[bytes, bytes]]
RATE_LIMITED = orjson.dumps({"message": "API Rate Limit Exceeded"})
MESSAGES = {
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    423: "Resource Locked",
}
_EXACT = {e.path: e for e in ENDPOINTS if "{" not in e.path}
_COHORTS = next(e for e in ENDPOINTS if e.path.endswith("/cohorts"))
_COHORT_USERS = next(e for e in ENDPOINTS if e.path.endswith("/cohorts/users"))


class ConnectionDropped(Exception):
    """Raised instead of answering when the server cannot abort the connection (in-process ASGI)."""


def route(path: str) -> tuple[Endpoint, dict[str, Any]] | None:
    endpoint = _EXACT.get(path)
    if endpoint is not None:
        return endpoint, {}
    if path.startswith("/partners/"):
        parts = path.split("/")
        if len(parts) == 4 and parts[2] and parts[3] == "cohorts":
            return _COHORTS, {"partner": parts[2]}
        if len(parts) == 5 and parts[2] and parts[3:] == ["cohorts", "users"]:
            return _COHORT_USERS, {"partner": parts[2]}
    return None


def _rate_headers(decision: RateDecision, retry_after: bool) -> Headers:
    headers = [
        (b"x-ratelimit-limit", b"%d" % decision.limit),
        (b"x-ratelimit-remaining", b"%d" % decision.remaining),
        (b"x-ratelimit-reset", b"%d" % decision.reset),
    ]
    if retry_after and not decision.allowed:
        headers.append((b"retry-after", b"%d" % decision.retry_after))
    return headers


def _message(text: str) -> bytes:
    return orjson.dumps({"message": text})


def _authorise(sandbox: Sandbox, scope: Scope, permission: str) -> tuple[int, bytes] | None:
    header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    if not header:
        return 401, _message("Missing Authorization header: send 'Bearer <API key>'.")
    scheme, _, key = header.decode("latin-1").partition(" ")
    permissions = sandbox.config.api_keys.get(key.strip())
    if scheme.lower() != "bearer" or permissions is None:
        return 401, _message("Invalid API key.")
    if permission not in permissions:
        return 403, _message(f"Access Denied: the API key lacks '{permission}'.")
    return None


def process(
    sandbox: Sandbox, endpoint: Endpoint, params: dict[str, Any], scope: Scope, raw: bytes
) -> tuple[int, bytes | None, Headers]:
    """Everything after latency; call under the lock. A None body means: drop the connection."""
    now = sandbox.clock()
    headers: Headers = []
    settings = sandbox.settings
    faults = sandbox.faults
    counters = sandbox.counters
    limiter = sandbox.limiter
    if limiter is not None:
        decision = limiter.hit(now)
        headers = _rate_headers(decision, settings.send_retry_after)
        if not decision.allowed:
            counters.totals["rate_limited"] += 1
            return 429, RATE_LIMITED, headers
    fault = faults.draw(endpoint.cohort)
    if fault.burst_429:
        counters.faults["burst_429"] += 1
        if limiter is not None:
            headers = _rate_headers(limiter.peek(now), settings.send_retry_after)
            headers[1] = (b"x-ratelimit-remaining", b"0")
        elif settings.send_retry_after:
            headers = [(b"retry-after", b"1")]
        return 429, RATE_LIMITED, headers
    status = fault.server_error or (423 if fault.locked_423 else None)
    if status is not None:
        counters.faults[str(status)] += 1
        return status, _message(MESSAGES[status]), headers
    if endpoint.permission is not None:
        refusal = _authorise(sandbox, scope, endpoint.permission)
        if refusal is not None:
            return refusal[0], refusal[1], headers
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return 400, _message("Request body is not valid JSON."), headers
    if endpoint.origin:
        params = {**params, "origin": _origin(scope)}
    status, payload = endpoint.handler(sandbox, body, params, now)
    if 200 <= status < 300 and fault.drop_after_apply:
        counters.faults["drop_after_apply"] += 1
        return status, None, headers
    return status, orjson.dumps(payload), headers


def _origin(scope: Scope) -> str:
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    if host:
        return f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}"
    server = scope.get("server") or ("127.0.0.1", 80)
    return f"{scope.get('scheme', 'http')}://{server[0]}:{server[1]}"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drop(raw_send: Send) -> None:
    # uvicorn's send is a bound method of the request cycle, which holds the transport.
    transport = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("sandbox dropped the connection after applying the request")
    transport.abort()
    # Let connection_lost run first, so uvicorn does not try to answer with a 500.
    await asyncio.sleep(0)


async def serve(
    sandbox: Sandbox,
    endpoint: Endpoint,
    params: dict[str, Any],
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    delay = sandbox.faults.latency()
    if delay > 0:
        await asyncio.sleep(delay)
    raw = await _read_body(receive)
    with sandbox.lock:
        status, body, headers = process(sandbox, endpoint, params, scope, raw)
        sandbox.counters.request(endpoint.path, "dropped" if body is None else status)
    if body is None:
        await _drop(send)
        return
    headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
