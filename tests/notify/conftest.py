"""Real servers on 127.0.0.1 for the notification tests: SMTP (aiosmtpd) and a webhook receiver.

tests/operations/test_scheduled_runs.py imports them too.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cohortops.config.model import Notify, Secret
from cohortops.notify import (
    RunReport,
)

HOOK_TOKEN = "T000/B000/XXXXsecretXXXXtoken"
SMTP_PASSWORD = "s3cret-smtp-pw"

T0 = dt.datetime(2024, 3, 10, 5, 0, tzinfo=dt.UTC)


# -- servers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.replies: list[str] = []  # answered to DATA in order, then "250"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


class _FreePortController(Controller):
    """aiosmtpd 1.4 binds port 0 fine but then probes the literal port 0; probe the real one."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    controller: Controller
    inbox: _Inbox

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[Received]:
        return self.inbox.messages

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "COHORTOPS_SMTP_HOST": "127.0.0.1",
            "COHORTOPS_SMTP_PORT": str(self.port),
            "COHORTOPS_SMTP_FROM": "cohortops@example.com",
            **extra,
        }


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"robot"
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 (free port); login robot / SMTP_PASSWORD is accepted."""
    inbox = _Inbox()
    controller = _FreePortController(
        inbox,
        hostname="127.0.0.1",
        port=0,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer(controller, inbox)
    finally:
        controller.stop()


@dataclass
class Hook:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class WebhookReceiver:
    server: http.server.ThreadingHTTPServer
    requests: list[Hook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    headers: dict[str, str] = field(default_factory=dict)  # sent with every error status

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base}/services/{HOOK_TOKEN}"


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """A JSON receiver on 127.0.0.1; set ``statuses`` to answer errors first."""
    receiver: WebhookReceiver

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            receiver.requests.append(
                Hook("POST", self.path, dict(self.headers.items()), json.loads(raw))
            )
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            for name, value in receiver.headers.items() if status >= 300 else ():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(server)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- reports -------------------------------------------------------------------------------------


def report(result: str = "success", **changes: Any) -> RunReport:
    values: dict[str, Any] = {
        "cohort_id": "power-users",
        "cohort_name": "Power users",
        "trigger": "schedule",
        "result": result,
        "started_at": T0,
        "ended_at": T0 + dt.timedelta(seconds=4.5),
        "added": 120,
        "removed": 4,
        "total_members": 1_234,
        "apply_id": "abc123",
        **changes,
    }
    return RunReport(**values)


def hook_notify(on: tuple[Any, ...] = ("success", "failure")) -> Notify:
    return Notify(webhook=Secret("${env:HOOK_URL}", "cohorts.power-users.notify.webhook"), on=on)
