"""Building what sends: proxy settings, timeouts, the transport seam, one POST.

Every outbound call of cohortops goes through here. The transport is, in order: the one the
caller passes (tests: ``httpx.MockTransport``), an ``httpx.HTTPTransport`` through the proxy
the environment names for the URL (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, minus
``NO_PROXY``), else the lean :class:`~cohortops.http.transport.StdlibTransport`.
"""

from __future__ import annotations

import socket
import ssl
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from cohortops import __version__
from cohortops.http.transport import StdlibTransport

USER_AGENT = f"cohortops/{__version__}"

# Failures of the exchange itself that say nothing about the request: worth another try.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
# The request never reached a server: connection refused, DNS failure, TLS failure. A policy
# that lists these in ``fail_fast`` retries only on an open connection (timeouts, 429/5xx).
CONNECT_FAILURES: tuple[type[BaseException], ...] = (httpx.ConnectError,)


def proxy_for(url: str) -> str | None:
    """The proxy URL the environment names for ``url``, or None (none set, or NO_PROXY)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def proxy_transport(url: str) -> httpx.BaseTransport | None:
    """An httpx transport through the environment's proxy for ``url``, or None."""
    proxy = proxy_for(url)
    if proxy is None:
        return None
    return httpx.HTTPTransport(
        proxy=proxy,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )


def transport_for(
    url: str, timeout: float, transport: httpx.BaseTransport | None = None
) -> httpx.BaseTransport:
    """The caller's transport, else the proxy's for ``url``, else a StdlibTransport."""
    return transport or proxy_transport(url) or StdlibTransport(timeout)


def timeouts(seconds: float) -> dict[str, float]:
    """The per-request timeout extension httpx transports read (every phase alike)."""
    return {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}


def post(
    transport: httpx.BaseTransport,
    url: httpx.URL | str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: Mapping[str, float],
) -> httpx.Response:
    """One POST through ``transport``; the response is read in full and closed."""
    return send(transport, "POST", url, body, headers, timeout)


def download(
    url: str,
    target: Path,
    *,
    max_bytes: int,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> tuple[int, int]:
    """GET ``url`` (no credentials are sent: a pre-signed link) and stream a 200 body into
    ``target``. Returns (status, bytes written); bytes is -1 when the body exceeded
    ``max_bytes`` (``target`` is then removed). Network failures raise ``HTTPError``."""
    own = transport is None
    sender = transport or proxy_transport(url) or httpx.HTTPTransport()
    request = httpx.Request(
        "GET", url, headers={"User-Agent": USER_AGENT}, extensions={"timeout": timeouts(timeout)}
    )
    try:
        response = sender.handle_request(request)
        try:
            if response.status_code != 200:
                return response.status_code, 0
            size = 0
            with target.open("wb") as handle:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        break
                    handle.write(chunk)
            if size > max_bytes:
                target.unlink(missing_ok=True)
                return 200, -1
            return 200, size
        finally:
            response.close()
    finally:
        if own:
            sender.close()


def send(
    transport: httpx.BaseTransport,
    method: str,
    url: httpx.URL | str,
    body: bytes | None,
    headers: Mapping[str, str],
    timeout: Mapping[str, float],
) -> httpx.Response:
    """One request of any method through ``transport``; the response is read in full."""
    request = httpx.Request(
        method, url, headers=headers, content=body, extensions={"timeout": dict(timeout)}
    )
    response = transport.handle_request(request)
    try:
        response.read()
    finally:
        response.close()
    return response


# The httpx types callers name, so that no other package imports httpx.
Transport = httpx.BaseTransport
Response = httpx.Response
URL = httpx.URL
HTTPError = httpx.HTTPError
MockTransport = httpx.MockTransport


def describe(exc: BaseException) -> str:
    """A short reason for a failed exchange, without the URL some messages carry."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError | socket.timeout):
        return "timed out"
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, httpx.HTTPError) and cause is not None:
        return describe(cause)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failure ({exc.reason or type(exc).__name__})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__
