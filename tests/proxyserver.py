"""A tiny threaded HTTP proxy on 127.0.0.1 for tests: forwards absolute-URI requests and
tunnels CONNECT, and records what it carried."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit


def _read_head(conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return b"", b""
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _pipe(a: socket.socket, b: socket.socket) -> None:
    while True:
        readable, _, _ = select.select([a, b], [], [], 10)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (b if source is a else a).sendall(data)


def serve_connections(sock: socket.socket, handle: Callable[[socket.socket, int], None]) -> None:
    """Accept on ``sock`` until it closes; each connection (numbered from 1) in its own thread."""

    def run(conn: socket.socket, n: int) -> None:
        with conn, contextlib.suppress(OSError):
            handle(conn, n)

    def loop() -> None:
        n = 0
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            n += 1
            threading.Thread(target=run, args=(conn, n), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


class Proxy:
    """``requests`` lists the forwarded request lines, ``tunnels`` the CONNECT targets."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[str] = []
        self.tunnels: list[str] = []
        serve_connections(self.sock, self._handle)

    def _handle(self, conn: socket.socket, n: int) -> None:
        rest = b""
        while True:
            head, rest = _read_head(conn, rest)
            if not head:
                return
            method, target, version = head.split(b"\r\n")[0].decode().split(" ")
            if method == "CONNECT":
                self._tunnel(conn, target)
                return
            rest = self._forward(conn, head, rest, method, target, version)

    def _tunnel(self, conn: socket.socket, target: str) -> None:
        host, _, port = target.rpartition(":")
        with socket.create_connection((host, int(port)), timeout=10) as upstream:
            self.tunnels.append(target)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(conn, upstream)

    def _forward(
        self, conn: socket.socket, head: bytes, rest: bytes, method: str, target: str, version: str
    ) -> bytes:
        length = _content_length(head)
        while len(rest) < length:
            rest += conn.recv(65536)
        body, rest = rest[:length], rest[length:]
        url = urlsplit(target)
        self.requests.append(f"{method} {target}")
        lines = [f"{method} {url.path or '/'}{'?' + url.query if url.query else ''} {version}"]
        for line in head.decode("latin-1").split("\r\n")[1:]:
            if not line.lower().startswith(("connection:", "proxy-connection:")):
                lines.append(line)
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        with socket.create_connection((url.hostname, url.port or 80), timeout=10) as upstream:
            upstream.sendall(request)
            answer, content = _read_head(upstream, b"")
            while len(content) < _content_length(answer):
                content += upstream.recv(65536)
        conn.sendall(answer + b"\r\n\r\n" + content)
        return rest

    def close(self) -> None:
        self.sock.close()
