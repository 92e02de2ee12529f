"""The Lytics-compatible API, served under ``/lytics`` (plain ASGI, like the Braze pipeline).

- ``GET /lytics/api/segment/{id or slug}/scan?limit=N&start=TOKEN``: ``{status, message, total,
  data, _next}``; ``status`` is the number 200 on a scan's first page and the string "200" on
  the others (Lytics answers both forms).
- ``POST /lytics/collect/json/{stream}``: a JSON object or array of records (10 MB at most:
  413 above); ``POST /lytics/collect/bulk/{stream}``: a CSV file with a header, where a column
  ``field.key`` sets one key of a map field (``true``/``false``).
- Auth: the token as the whole ``Authorization`` header, or ``?key=TOKEN``; 401 otherwise.

Requests share the Braze endpoints' rate-limit window and fault draws (429 bursts, 5xx,
latency, drop after apply for collect requests).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson
from starlette.types import Receive, Scope, Send

from cohortops.sandbox import pipeline
from cohortops.sandbox.runtime import Sandbox

PREFIX = "/lytics"
MAX_JSON_BODY = 10 * 1024 * 1024
Reply = tuple[int, bytes | None, list[tuple[bytes, bytes]]]


def _body(status: int | str, message: str, **extra: Any) -> bytes:
    return orjson.dumps({"status": status, "message": message, **extra})


def _token(sandbox: Sandbox, scope: Scope, query: dict[str, list[str]]) -> bool:
    header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
    token = header.decode("latin-1").strip() or (query.get("key") or [""])[0]
    return token in sandbox.config.lytics_tokens


def _route(method: str, path: str) -> tuple[str, str] | None:
    parts = path[len(PREFIX) :].split("/")
    # ['', 'api', 'segment', ID, 'scan'] / ['', 'collect', 'json'|'bulk', STREAM]
    if method == "GET" and len(parts) == 5 and parts[1:3] == ["api", "segment"]:
        return ("scan", unquote(parts[3])) if parts[3] and parts[4] == "scan" else None
    ok = len(parts) == 4 and parts[1] == "collect" and parts[2] in ("json", "bulk") and parts[3]
    if method == "POST" and ok:
        return parts[2], unquote(parts[3])
    return None


def _handle(sandbox: Sandbox, kind: str, name: str, scope: Scope, raw: bytes) -> Reply:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    now = sandbox.clock()
    headers: list[tuple[bytes, bytes]] = []
    if sandbox.limiter is not None:
        decision = sandbox.limiter.hit(now)
        if not decision.allowed:
            sandbox.counters.totals["rate_limited"] += 1
            return 429, _body(429, "Rate limit exceeded"), [(b"retry-after", b"1")]
    fault = sandbox.faults.draw(False)
    if fault.burst_429:
        sandbox.counters.faults["burst_429"] += 1
        return 429, _body(429, "Rate limit exceeded"), [(b"retry-after", b"0")]
    if fault.server_error is not None:
        sandbox.counters.faults[str(fault.server_error)] += 1
        return fault.server_error, _body(fault.server_error, "Service Unavailable"), headers
    if not _token(sandbox, scope, query):
        return 401, _body(401, "Unauthorized: invalid API token"), headers
    model = sandbox.lytics
    if kind == "scan":
        try:
            limit = int((query.get("limit") or ["100"])[0])
        except ValueError:
            return 400, _body(400, "limit must be an integer"), headers
        page = model.scan(name, (query.get("start") or [None])[0], limit)
        if page is None:
            return 404, _body(404, f"segment not found: {name}"), headers
        status: int | str = 200 if page.pop("first") else "200"
        return 200, _body(status, "success", **page), headers
    if kind == "json":
        if len(raw) > MAX_JSON_BODY:
            return 413, _body(413, "request body too large: use the bulk API"), headers
        try:
            records = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return 400, _body(400, "body is not valid JSON"), headers
        accepted, rejected = model.collect(
            name, records if isinstance(records, list) else [records]
        )
    else:
        accepted, rejected = model.collect_csv(name, raw.decode("utf-8", "replace"))
    if fault.drop_after_apply:
        sandbox.counters.faults["drop_after_apply"] += 1
        return 200, None, headers
    data = {"message_count": accepted, "rejected_count": rejected}
    return 200, _body(200, "success", data=data), headers


async def serve(sandbox: Sandbox, scope: Scope, receive: Receive, send: Send) -> None:
    found = _route(scope["method"], scope["path"])
    delay = sandbox.faults.latency()
    if delay > 0:
        await asyncio.sleep(delay)
    raw = await pipeline._read_body(receive)
    label = f"{PREFIX}/{found[0]}" if found else f"{PREFIX}/unknown"
    with sandbox.lock:
        if found is None:
            reply: Reply = 404, _body(404, "not found"), []
        else:
            reply = _handle(sandbox, found[0], found[1], scope, raw)
        sandbox.counters.request(label, "dropped" if reply[1] is None else reply[0])
    status, body, headers = reply
    if body is None:
        await pipeline._drop(send)
        return
    headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
