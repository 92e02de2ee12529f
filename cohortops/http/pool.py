"""One lean transport per in-flight request, for callers that send from many threads.

One httpx connection pool shared by many threads contends on its lock, and httpx's
AsyncClient slows down as concurrency grows (docs/performance.md, "JSON and HTTP"). Each in-flight request therefore
checks out a ``StdlibTransport`` of its own (one keep-alive connection per origin) and checks
it back in, so connections are reused without sharing and nothing leaks when threads come
and go. A transport passed in by the caller (a MockTransport in tests, or an
``httpx.HTTPTransport``) is shared instead; so is the proxy transport when the environment
names a proxy for the endpoint (see ``client.transport_for``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from cohortops.http.transport import StdlibTransport


class TransportPool:
    """Hands out a transport per request: the shared one, or an idle/new StdlibTransport."""

    def __init__(self, *, timeout: float, shared: httpx.BaseTransport | None) -> None:
        self._timeout = timeout
        self._shared = shared
        self._lock = threading.Lock()
        self._idle: list[StdlibTransport] = []
        self._created = 0
        self._closed = False

    @property
    def created(self) -> int:
        """How many pooled transports exist (peak concurrency so far)."""
        return self._created

    @contextmanager
    def transport(self) -> Iterator[httpx.BaseTransport]:
        if self._shared is not None:
            if self._closed:
                raise RuntimeError("the HTTP client is closed")
            yield self._shared
            return
        with self._lock:
            if self._closed:
                raise RuntimeError("the HTTP client is closed")
            if self._idle:
                transport = self._idle.pop()
            else:
                transport = StdlibTransport(self._timeout)
                self._created += 1
        try:
            yield transport
        finally:
            with self._lock:
                closed = self._closed
                if not closed:
                    self._idle.append(transport)
            if closed:
                transport.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for transport in idle:
            transport.close()
        if self._shared is not None:
            self._shared.close()
