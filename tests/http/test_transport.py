"""Transports over real sockets on 127.0.0.1: keep-alive, stale connections, failures, proxies."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from proxyserver import Proxy, serve_connections

from cohortops.http.client import post as send
from cohortops.http.client import proxy_transport, timeouts, transport_for
from cohortops.http.pool import TransportPool
from cohortops.http.transport import StdlibTransport

pytestmark = pytest.mark.timeout(30)

OK = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

Behaviour = Callable[[socket.socket, int], None]


class RawServer:
    """Accepts connections and hands each to ``behaviour(conn, n)`` (n = connection number)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []
        serve_connections(self.sock, self._handle)

    def _handle(self, conn: socket.socket, n: int) -> None:
        self.connections = max(self.connections, n)
        self.behaviour(conn, n)

    def read_request(self, conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(body) < length:
            body += conn.recv(65536)
        self.requests.append(head + b"\r\n\r\n" + body)
        return body

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/users/track"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], RawServer]]:
    servers: list[RawServer] = []

    def start(behaviour: Behaviour) -> RawServer:
        server = RawServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def post(transport: httpx.BaseTransport, url: str, body: bytes = b'{"a":1}') -> httpx.Response:
    request = httpx.Request("POST", url, content=body, headers={"Authorization": "Bearer k"})
    response = transport.handle_request(request)
    response.read()
    return response


def test_keeps_the_connection_alive(serve: Callable[[Behaviour], RawServer]) -> None:
    def behaviour(conn: socket.socket, n: int) -> None:
        while server.read_request(conn):
            conn.sendall(OK)

    server = serve(behaviour)
    transport = StdlibTransport(timeout=5)
    for _ in range(5):
        response = post(transport, server.url)
        assert response.status_code == 201 and response.json() == {}
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /users/track HTTP/1.1\r\n")
    assert b"Authorization: Bearer k" in server.requests[0]
    assert server.requests[0].endswith(b'\r\n\r\n{"a":1}')
    transport.close()


def test_a_connection_closed_while_idle_is_replaced_transparently(
    serve: Callable[[Behaviour], RawServer],
) -> None:
    def behaviour(conn: socket.socket, n: int) -> None:
        server.read_request(conn)
        conn.sendall(OK)  # keep-alive promised, then the server closes anyway

    server = serve(behaviour)
    transport = StdlibTransport(timeout=5)
    assert post(transport, server.url).status_code == 201
    assert post(transport, server.url).status_code == 201
    assert server.connections == 2
    transport.close()


def test_a_fresh_connection_dropped_without_reply_is_an_error(
    serve: Callable[[Behaviour], RawServer],
) -> None:
    def behaviour(conn: socket.socket, n: int) -> None:
        server.read_request(conn)  # applied, then the connection drops

    server = serve(behaviour)
    with pytest.raises(httpx.RemoteProtocolError):
        post(StdlibTransport(timeout=5), server.url)
    assert server.connections == 1  # not re-sent by the transport: the client decides


def test_read_timeout(serve: Callable[[Behaviour], RawServer]) -> None:
    done = threading.Event()

    def behaviour(conn: socket.socket, n: int) -> None:
        server.read_request(conn)
        done.wait(5)

    server = serve(behaviour)
    with pytest.raises(httpx.ReadTimeout):
        post(StdlibTransport(timeout=0.2), server.url)
    done.set()


def test_malformed_response(serve: Callable[[Behaviour], RawServer]) -> None:
    def behaviour(conn: socket.socket, n: int) -> None:
        server.read_request(conn)
        conn.sendall(b"garbage\r\n\r\n")

    server = serve(behaviour)
    with pytest.raises(httpx.RemoteProtocolError):
        post(StdlibTransport(timeout=5), server.url)


def test_connection_refused_and_bad_scheme() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(httpx.ConnectError):
        post(StdlibTransport(timeout=5), f"http://127.0.0.1:{port}/x")
    with pytest.raises(httpx.UnsupportedProtocol):
        post(StdlibTransport(timeout=5), "ftp://127.0.0.1/x")


def test_pool_gives_each_concurrent_request_its_own_transport() -> None:
    pool = TransportPool(timeout=5, shared=None)
    with pool.transport() as first, pool.transport() as second:
        assert first is not second
    with pool.transport() as again:
        assert again in (first, second)
    assert pool.created == 2
    pool.close()
    with pytest.raises(RuntimeError), pool.transport():
        pass


PROXY_VARIABLES = (
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    server = Proxy()
    yield server
    server.close()


def test_proxy_from_environment(no_proxy_env: pytest.MonkeyPatch) -> None:
    assert proxy_transport("https://rest.fra-01.braze.eu") is None
    no_proxy_env.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert isinstance(proxy_transport("https://rest.fra-01.braze.eu"), httpx.HTTPTransport)
    no_proxy_env.setenv("NO_PROXY", "braze.eu")
    assert proxy_transport("https://rest.fra-01.braze.eu") is None


def test_requests_go_through_the_proxy_the_environment_names(
    serve: Callable[[Behaviour], RawServer], proxy: Proxy, no_proxy_env: pytest.MonkeyPatch
) -> None:
    def behaviour(conn: socket.socket, n: int) -> None:
        while server.read_request(conn):
            conn.sendall(OK)

    server = serve(behaviour)
    no_proxy_env.setenv("HTTP_PROXY", proxy.url)
    transport = transport_for(server.url, 5)
    for _ in range(3):
        response = send(transport, server.url, b'{"a":1}', {"X-Test": "1"}, timeouts(5))
        assert response.status_code == 201
    transport.close()
    assert proxy.requests == [f"POST {server.url}"] * 3
    assert len(server.requests) == 3 and b"X-Test: 1" in server.requests[0]

    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    direct = transport_for(server.url, 5)
    assert isinstance(direct, StdlibTransport)
    assert post(direct, server.url).status_code == 201
    assert len(proxy.requests) == 3 and len(server.requests) == 4  # NO_PROXY: straight there


def test_https_goes_through_a_connect_tunnel(
    tmp_path: Path, proxy: Proxy, no_proxy_env: pytest.MonkeyPatch
) -> None:
    cert, key = certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[bytes] = []

    def answer() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += tls.recv(65536)
                seen.append(data)
                tls.sendall(OK)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
    no_proxy_env.setenv("SSL_CERT_FILE", str(cert))
    url = f"https://127.0.0.1:{port}/users/track"
    try:
        transport = transport_for(url, 5)
        assert send(transport, url, b"", {}, timeouts(5)).status_code == 201
        transport.close()
    finally:
        listener.close()
        thread.join(5)
    assert proxy.tunnels == [f"127.0.0.1:{port}"]
    assert seen and seen[0].startswith(b"POST /users/track HTTP/1.1")


def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (skips the test without openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def test_tls_certificates_are_verified(tmp_path: Path) -> None:
    """An untrusted certificate fails as a ConnectError: verification is never off."""
    cert, key = certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with (
                contextlib.suppress(OSError, ssl.SSLError),
                context.wrap_socket(conn, server_side=True),
            ):
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with pytest.raises(httpx.ConnectError):
            post(StdlibTransport(timeout=5), f"https://127.0.0.1:{port}/users/track")
    finally:
        listener.close()
        thread.join(5)
