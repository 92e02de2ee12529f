"""Which transport carries each request: one lean transport per in-flight request.

One httpx connection pool shared by many threads contends on its lock, and httpx's
AsyncClient slows down as concurrency grows (perf-notes). Each in-flight request therefore
checks out a ``StdlibTransport`` of its own (one keep-alive connection per origin) and checks
it back in, so connections are reused without sharing and nothing leaks when threads come
and go. A transport passed in by the caller (a MockTransport in tests, or an
``httpx.HTTPTransport``) is shared instead; so is a proxy transport when the environment
names a proxy for the endpoint (HTTPS_PROXY / NO_PROXY, as httpx itself would honour).
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

from cohortops.braze.transport import StdlibTransport


def proxy_transport(url: str) -> httpx.BaseTransport | None:
    """An httpx transport through the environment's proxy for ``url``, or None."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme) or urllib.request.getproxies().get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return httpx.HTTPTransport(
        proxy=proxy,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )


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
                raise RuntimeError("the Braze client is closed")
            yield self._shared
            return
        with self._lock:
            if self._closed:
                raise RuntimeError("the Braze client is closed")
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
