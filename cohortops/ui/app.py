"""The dashboard as an ASGI app (starlette) and the function that serves it (uvicorn).

Read-only: one :class:`~cohortops.state.Store` opened for the app's lifetime and used by one
request at a time, reads only (no lock taken, so an apply is never blocked). Loopback by default;
any other bind address needs a token, checked on every request in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from cohortops.errors import CohortopsError
from cohortops.operations.context import App
from cohortops.plan.planfile import read_plan
from cohortops.state import Store
from cohortops.ui import data, pages, plan_view
from cohortops.ui.markup import join
from cohortops.ui.static import CSS, LIVE_JS

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
COOKIE = "cohortops_ui_token"
TOKEN_ENV = "COHORTOPS_UI_TOKEN"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def require_token(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if host not in LOOPBACK and not token:
        raise CohortopsError(
            f"Refusing to serve the dashboard on {host} without a token.",
            hint=f"Pass --token or set {TOKEN_ENV}, or bind 127.0.0.1 (the default).",
        )


@dataclass
class _Verdict:
    head: int = -1
    text: str = ""
    ok: bool = True
    running: bool = False


@dataclass
class Dashboard:
    """What the handlers share: the app and one read-only store per worker thread.

    Stores are per thread so that a slow read (a member timeline scans the audit log) never
    holds up the other pages; each is opened on first use and closed when the app stops.
    """

    app: App
    plan_file: Path | None = None
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    _stack: ExitStack = field(default_factory=ExitStack)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)
    _verdict: _Verdict = field(default_factory=_Verdict)

    @contextmanager
    def store(self) -> Iterator[Store]:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            with self._lock:
                store = self._stack.enter_context(self.app.store())
            self._local.store = store
        yield store

    def close(self) -> None:
        with self._lock:
            self._stack.close()
        self._local = threading.local()

    def plan_files(self) -> dict[str, Path]:
        root = self.app.config.root
        root = root if root.is_dir() else root.parent
        files = plan_view.plan_files(root, self.plan_file)
        cwd = Path.cwd()
        for pattern in ("*.plan", "*/*.plan"):
            files += [p.resolve() for p in cwd.glob(pattern) if p.is_file()]
        return {hashlib.sha256(str(p).encode()).hexdigest()[:16]: p for p in sorted(set(files))}

    def verdict(self) -> _Verdict:
        """``audit verify``'s answer, computed in the background once per audit head."""
        with self.store() as store:
            newest = store.recent_audit(None, 1)
        head = newest[0].seq if newest else 0
        with self._lock:
            if self._verdict.head == head or self._verdict.running:
                return self._verdict
            self._verdict.running = True

        def work() -> None:
            try:
                with self.app.store() as store:  # its own: a long verification holds no page up
                    problem = store.verify_audit()
            except CohortopsError as exc:
                text, ok = str(exc), False
            else:
                ok = problem is None
                text = (
                    f"Audit log intact: {head:,} entries, hash chain verified."
                    if ok
                    else f"Audit log verification failed at {problem}. Entries from there on "
                    "cannot be trusted."
                )
            self._verdict = _Verdict(head, text, ok, False)

        thread = threading.Thread(target=work, name="cohortops-ui-verify", daemon=True)
        thread.start()
        thread.join(timeout=0.15)  # a small log answers at once; a large one on a reload
        return self._verdict


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status)


def build_app(
    app: App | Path | None,
    *,
    token: str | None = None,
    plan_file: Path | None = None,
    allowed_hosts: frozenset[str] | None = LOOPBACK,
    clock: Callable[[], dt.datetime] | None = None,
) -> Starlette:
    """The dashboard for ``app`` (or the configuration at that path).

    ``token``: every request must carry it (``Authorization: Bearer``, ``?token=`` which sets
    a cookie, or the cookie). ``allowed_hosts``: Host headers accepted (None = any), which stops
    DNS-rebinding pages from reading a loopback dashboard.
    """
    project = app if isinstance(app, App) else App(app)
    project.config  # noqa: B018  (fail now on a broken configuration, not on the first request)
    board = Dashboard(project, plan_file)
    if clock is not None:
        board.clock = clock

    def overview(request: Request) -> Response:
        with board.store() as store:
            view = data.overview(project.config, store, board.clock())
        return _html(pages.overview(view))

    def cohort(request: Request) -> Response:
        cohort_id = request.path_params["cohort_id"]
        with board.store() as store:
            shown = data.RUNS_ALL if request.query_params.get("runs") == "all" else data.RUNS_SHOWN
            view = data.cohort_detail(project.config, store, cohort_id, board.clock(), shown)
        if view is None:
            return _html(pages.not_found(f"No cohort {cohort_id!r} is declared or recorded."), 404)
        return _html(pages.cohort(view))

    def member(request: Request) -> Response:
        member_id = request.query_params.get("id", "").strip()
        if not member_id:
            return _html(pages.member(None))
        with board.store() as store:
            view = data.timeline(store, member_id)
        return _html(pages.member(view))

    def audit(request: Request) -> Response:
        verdict = board.verdict()
        with board.store() as store:
            recent = store.recent_audit(None, 50)
        pending = not verdict.text
        text = verdict.text or "Verifying the audit log's hash chain… this page reloads itself."
        return _html(pages.audit(text, verdict.ok, recent, pending=pending))

    def plans(request: Request) -> Response:
        files = board.plan_files()
        return _html(pages.plans([(k, str(p)) for k, p in files.items()]))

    def plan(request: Request) -> Response:
        path = board.plan_files().get(request.path_params["key"])
        if path is None:
            return _html(pages.not_found("No such plan file in the project."), 404)
        try:
            saved = read_plan(path)
        except CohortopsError as exc:
            return _html(pages.error(str(exc)), 422)
        with board.store() as store:
            snap = store.snapshot()
        body = join(
            [
                plan_view.stale_note(saved, snap.lineage, snap.serial),
                plan_view.plan_body(saved, str(path)),
            ]
        )
        return _html(pages.plan(path.name, body))

    def progress(request: Request) -> Response:
        with board.store() as store:
            running = data.progress(store) if store.current_lock() is not None else []
        return JSONResponse(
            {
                "applies": [
                    {
                        "apply_id": p.apply_id,
                        "who": p.who,
                        "began_at": p.began_at.isoformat(timespec="seconds"),
                        "planned": p.planned,
                        "acknowledged": p.acknowledged,
                        "cohorts": list(p.cohorts),
                    }
                    for p in running
                ]
            }
        )

    def css(request: Request) -> Response:
        return Response(CSS, media_type="text/css")

    def js(request: Request) -> Response:
        return Response(LIVE_JS, media_type="text/javascript")

    routes = [
        Route("/", overview),
        Route("/cohort/{cohort_id:path}", cohort),
        Route("/member", member),
        Route("/audit", audit),
        Route("/plans", plans),
        Route("/plan/{key}", plan),
        Route("/api/progress", progress),
        Route("/static/app.css", css),
        Route("/static/live.js", js),
    ]
    guard = _Guard(token, allowed_hosts)
    return Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)],
        lifespan=lambda _app: _closing(board),
        exception_handlers={CohortopsError: _failed},
    )


@asynccontextmanager
async def _closing(board: Dashboard) -> AsyncIterator[None]:
    try:
        yield
    finally:
        board.close()


async def _failed(request: Request, exc: Exception) -> Response:
    return _html(pages.error(str(exc)), 500)


class _Guard:
    """Host check, token check and the security headers, around every request."""

    def __init__(self, token: str | None, hosts: frozenset[str] | None) -> None:
        self.token = token.encode() if token else None
        self.hosts = hosts

    def _has_token(self, request: Request) -> tuple[bool, bool]:
        assert self.token is not None
        auth = request.headers.get("authorization", "")
        offered = [
            auth[7:] if auth.lower().startswith("bearer ") else "",
            request.cookies.get(COOKIE, ""),
        ]
        query = request.query_params.get("token", "")
        ok = any(hmac.compare_digest(o.encode(), self.token) for o in offered if o)
        from_query = bool(query) and hmac.compare_digest(query.encode(), self.token)
        return ok or from_query, from_query

    async def __call__(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = (request.url.hostname or "").strip("[]")
        set_cookie = False
        if self.hosts is not None and host not in self.hosts:
            response: Response = PlainTextResponse("Unknown Host header.", status_code=400)
        elif self.token is not None and not (checked := self._has_token(request))[0]:
            response = PlainTextResponse(
                "401: this dashboard needs its token (?token=..., or Authorization: Bearer).",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        else:
            set_cookie = self.token is not None and checked[1]
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if set_cookie and self.token is not None:
            response.set_cookie(
                COOKIE, self.token.decode(), httponly=True, samesite="strict", path="/"
            )
        return response


def serve(
    app: App | Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8400,
    token: str | None = None,
    plan_file: Path | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve the dashboard until interrupted; refuses a non-loopback host without a token."""
    require_token(host, token)
    import uvicorn

    asgi = build_app(
        app, token=token, plan_file=plan_file, allowed_hosts=LOOPBACK if host in LOOPBACK else None
    )
    shown = f"[{host}]" if ":" in host else host
    echo(f"cohortops dashboard on http://{shown}:{port}/ (read-only; Ctrl-C stops it)")
    uvicorn.run(asgi, host=host, port=port, log_level="warning", access_log=False)
