"""Running the sandbox: in a background thread (tests, benchmarks, demo) or in the foreground
(the ``cohortops sandbox`` command)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

import uvicorn

from cohortops.sandbox.app import create_app, sandbox_of
from cohortops.sandbox.config import SandboxConfig, SandboxError
from cohortops.sandbox.lytics_model import parse_audience
from cohortops.sandbox.runtime import Clock, Sandbox
from cohortops.sandbox.seeds import segment_seed
from cohortops.sandbox.segments import parse_segment

READY_TIMEOUT = 15.0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns on TCP_NODELAY only for sockets that say so, and
    # without it small responses wait ~40 ms for delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SandboxError(
            f"Cannot listen on {host}:{port}: {exc.strerror}.",
            hint="Choose another --port or stop what is using it.",
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _uvicorn(app: Any, on_started: Callable[[], None] | None = None) -> _Server:
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        backlog=2048,
    )

    return _Server(config, on_started)


class _Server(uvicorn.Server):
    """uvicorn's server, announcing readiness and stopping without waiting for its next tick."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self._on_started is not None and not self.should_exit:
            self._on_started()

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def request_exit(self) -> None:
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(wake.set)


class SandboxServer:
    """A running sandbox. Admin methods act on the model directly (no HTTP round trip)."""

    def __init__(self, base_url: str, sandbox: Sandbox, server: _Server) -> None:
        self.base_url = base_url
        self.sandbox = sandbox
        self._server = server
        self._thread: threading.Thread | None = None
        self._segment_versions: dict[str, int] = {}  # add_braze_segment's redefinitions

    def __repr__(self) -> str:
        return f"SandboxServer({self.base_url!r}, mode={self.sandbox.backend.mode!r})"

    @property
    def config(self) -> SandboxConfig:
        return self.sandbox.config

    def state(self, *, include_users: bool = True) -> dict[str, Any]:
        return self.sandbox.state(include_users)

    def counters(self) -> dict[str, Any]:
        return self.sandbox.counters_snapshot()

    def seed_users(self, users: Any) -> int:
        """Seed users: a list of records, or the dict shapes described in ``seeds``."""
        return self.sandbox.seed(users)

    def define_segment(self, segment_id: str, filter: dict[str, Any], name: str = "") -> None:
        """Define (or redefine) a segment, as ``POST /_sandbox/segments`` does."""
        segment = parse_segment(
            {"segment_id": segment_id, "name": name or segment_id, "filter": filter}
        )
        with self.sandbox.lock:
            self.sandbox.segments.define(segment)

    def add_braze_segment(self, segment_id: str, external_ids: Iterable[str]) -> None:
        """(Re)define a Braze segment holding exactly ``external_ids`` (users created if
        missing)."""
        with self.sandbox.lock:  # counted, not random: the same calls seed the same users
            version = self._segment_versions.get(segment_id, 0) + 1
            self._segment_versions[segment_id] = version
        users, filter = segment_seed(segment_id, external_ids, f"v{version}")
        self.seed_users(users)
        self.define_segment(segment_id, filter)

    def add_lytics_audience(self, audience: Any) -> int:
        """Seed a Lytics audience (see :func:`cohortops.sandbox.lytics_model.parse_audience`)."""
        parsed = parse_audience(audience)
        with self.sandbox.lock:
            self.sandbox.lytics.add_audience(parsed)
        return parsed.size

    def lytics_state(self) -> dict[str, Any]:
        with self.sandbox.lock:
            return self.sandbox.lytics.state()

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        return self.sandbox.set_faults(changes)

    def reset(self) -> None:
        self.sandbox.reset()

    def save(self) -> None:
        self.sandbox.save()

    def stop(self) -> None:
        """Stop serving (saving ``state_file`` if set) and wait for the thread. Idempotent."""
        self._server.request_exit()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=READY_TIMEOUT)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Clock = time.time,
) -> SandboxServer:
    """Start uvicorn in a daemon thread and return once it accepts requests (port 0 = free port).

    Use as a context manager, or call ``stop()``.
    """
    app = create_app(config, clock=clock)
    sock = _bind(host, port)
    started = threading.Event()
    server = _uvicorn(app, started.set)
    handle = SandboxServer(_url(host, sock), sandbox_of(app), server)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # SystemExit from a failed startup included
            failure.append(exc)
        finally:
            sock.close()
            started.set()

    thread = threading.Thread(target=run, name=f"cohortops-sandbox-{handle.base_url}", daemon=True)
    handle._thread = thread
    thread.start()
    if not started.wait(READY_TIMEOUT) or failure or not server.started:
        handle.stop()
        raise SandboxError(
            "The sandbox server did not start.", hint="Run it in the foreground to see why."
        )
    return handle


def serve_forever(
    config: SandboxConfig | None,
    host: str,
    port: int,
    *,
    on_ready: Callable[[str], None],
) -> None:
    """Serve in the foreground until Ctrl-C (or SIGTERM); prints nothing, calls ``on_ready(url)``.

    ``state_file``, if set, is saved on the way out.
    """
    app = create_app(config)
    sock = _bind(host, port)
    url = _url(host, sock)
    server = _uvicorn(app, lambda: on_ready(url))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the captured SIGINT after its graceful shutdown: that is our exit.
        pass
    finally:
        sock.close()
