"""The ASGI application: Braze endpoints (see ``pipeline``) and the ``/_sandbox/`` admin routes.

Admin routes need no auth, are never rate limited or faulted, and exist only in the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from cohortops.sandbox import lytics_api, pipeline
from cohortops.sandbox.config import SandboxConfig, SandboxError
from cohortops.sandbox.lytics_model import parse_audience
from cohortops.sandbox.runtime import Clock, Sandbox
from cohortops.sandbox.segments import SegmentRejected, parse_segment

JSON = "application/json"


class SandboxApp(Starlette):
    """Braze endpoints go straight to the plain-ASGI pipeline; the rest through Starlette."""

    sandbox: Sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(lytics_api.PREFIX + "/"):
            await lytics_api.serve(self.sandbox, scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            found = pipeline.route(scope["path"])
            if found is not None:
                await pipeline.serve(self.sandbox, found[0], found[1], scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


AdminHandler = Callable[[Sandbox, Request], Awaitable[Response]]


def _admin(handler: AdminHandler, sandbox: Sandbox) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            return await handler(sandbox, request)
        except SandboxError as exc:
            return _json(400, {"message": str(exc)})
        except orjson.JSONDecodeError:
            return _json(400, {"message": "Request body is not valid JSON."})

    return handle


async def _state(sandbox: Sandbox, request: Request) -> Response:
    include = request.query_params.get("users", "1").lower() not in ("0", "false", "no")
    return _json(200, sandbox.state(include_users=include))


async def _counters(sandbox: Sandbox, request: Request) -> Response:
    return _json(200, sandbox.counters_snapshot())


async def _seed(sandbox: Sandbox, request: Request) -> Response:
    count = sandbox.seed(orjson.loads(await request.body()))
    return _json(200, {"message": "success", "seeded": count})


async def _reset(sandbox: Sandbox, request: Request) -> Response:
    sandbox.reset()
    return _json(200, {"message": "success"})


async def _faults(sandbox: Sandbox, request: Request) -> Response:
    if request.method == "GET":
        return _json(200, sandbox.fault_settings())
    changes = orjson.loads(await request.body())
    if not isinstance(changes, dict):
        return _json(400, {"message": "Send a JSON object of fault settings."})
    return _json(200, sandbox.set_faults(changes))


async def _lytics_audience(sandbox: Sandbox, request: Request) -> Response:
    audience = parse_audience(orjson.loads(await request.body()))
    with sandbox.lock:
        sandbox.lytics.add_audience(audience)
    return _json(200, {"message": "success", "id": audience.id, "size": audience.size})


async def _lytics_state(sandbox: Sandbox, request: Request) -> Response:
    with sandbox.lock:
        return _json(200, sandbox.lytics.state())


async def _save(sandbox: Sandbox, request: Request) -> Response:
    path = sandbox.save()
    return _json(200, {"message": "success", "path": str(path)})


async def _segments(sandbox: Sandbox, request: Request) -> Response:
    if request.method == "POST":
        try:
            segment = parse_segment(orjson.loads(await request.body()))
        except SegmentRejected as exc:
            return _json(exc.status, {"message": exc.message})
        with sandbox.lock:
            sandbox.segments.define(segment)
        return _json(200, {"message": "success", **segment.describe()})
    with sandbox.lock:
        return _json(200, {"segments": sandbox.segments.dump()})


async def _download(sandbox: Sandbox, request: Request) -> Response:
    """A segment export's archive: what the ``url`` of the export response points at."""
    name = request.path_params["name"]
    prefix = name.removesuffix(".zip").removesuffix(".tar.gz")
    with sandbox.lock:
        job = sandbox.segments.exports.get(prefix)
        now = sandbox.clock()
    if job is None or job.ready_at > now:
        return Response(b"NoSuchKey", status_code=404, media_type="text/plain")
    media = "application/zip" if job.output_format == "zip" else "application/gzip"
    return Response(job.archive, status_code=200, media_type=media)


async def _health(sandbox: Sandbox, request: Request) -> Response:
    return _json(200, {"message": "ok", "mode": sandbox.backend.mode})


ADMIN: tuple[tuple[str, AdminHandler, list[str]], ...] = (
    ("/_sandbox/health", _health, ["GET"]),
    ("/_sandbox/state", _state, ["GET"]),
    ("/_sandbox/counters", _counters, ["GET"]),
    ("/_sandbox/users", _seed, ["POST"]),
    ("/_sandbox/reset", _reset, ["POST"]),
    ("/_sandbox/faults", _faults, ["GET", "POST"]),
    ("/_sandbox/save", _save, ["POST"]),
    ("/_sandbox/segments", _segments, ["GET", "POST"]),
    ("/_sandbox/exports/{name}", _download, ["GET"]),
    ("/_sandbox/lytics/audiences", _lytics_audience, ["POST"]),
    ("/_sandbox/lytics/state", _lytics_state, ["GET"]),
)


def create_app(config: SandboxConfig | None = None, *, clock: Clock = time.time) -> Starlette:
    """A Braze-compatible ASGI app. ``clock`` (epoch seconds) drives rate windows and export lag."""
    sandbox = Sandbox(config or SandboxConfig(), clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if sandbox.config.state_file is not None:
            sandbox.save()

    routes = [Route(path, _admin(h, sandbox), methods=m) for path, h, m in ADMIN]
    app = SandboxApp(routes=routes, lifespan=lifespan)
    app.sandbox = sandbox
    app.state.sandbox = sandbox
    return app


def sandbox_of(app: Starlette) -> Sandbox:
    """The shared state behind an app made by :func:`create_app`."""
    sandbox = getattr(app, "sandbox", None)
    if not isinstance(sandbox, Sandbox):
        raise TypeError("not an app made by cohortops.sandbox.create_app")
    return sandbox
