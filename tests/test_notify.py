"""Notifications against a real SMTP server (aiosmtpd) and a real HTTP receiver, both on 127.0.0.1.

The servers are fixtures that tests/test_run_scheduled.py imports too.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import http.server
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cohortops.config.model import Notify, Secret
from cohortops.notify import (
    RETRY_DELAY,
    Delivery,
    RunReport,
    SmtpSettings,
    deliver,
    webhook_payload,
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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


class _FreePortController(Controller):
    """aiosmtpd 1.4 binds port 0 fine but then probes the literal port 0; probe the real one."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


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


def test_subjects_and_body() -> None:
    assert report().subject() == "[cohortops] Power users (power-users): +120 / -4 members"
    assert report("no-changes", added=0, removed=0).subject().endswith(": no changes")
    partial = report("partial", failed=3)
    assert (
        partial.subject() == "[cohortops] PARTIAL: Power users (power-users): +120 / -4, 3 failed"
    )
    blocked = report("blocked", added=0, removed=0, error="Blocked by guard: too many leave")
    assert blocked.subject() == "[cohortops] BLOCKED: Power users (power-users) was not applied"
    assert report("failed").subject() == "[cohortops] FAILED: Power users (power-users)"
    same = report(cohort_name="power-users")
    assert same.subject() == "[cohortops] power-users: +120 / -4 members"
    body = blocked.body()
    for line in (
        "Cohort: Power users (power-users)",
        "Result: blocked",
        "Trigger: schedule",
        "Started: 2024-03-10 05:00:00 UTC",
        "Ended: 2024-03-10 05:00:04 UTC (4.5 s)",
        "Members now: 1,234",
        "Apply: abc123",
        "Error: Blocked by guard: too many leave",
    ):
        assert line in body.splitlines(), body


@pytest.mark.parametrize(
    ("result", "changes", "events"),
    [
        ("success", {}, {"success", "changes"}),
        ("no-changes", {"added": 0, "removed": 0}, {"success"}),
        ("success", {"added": 0, "removed": 1}, {"success", "changes"}),
        ("partial", {}, {"failure", "changes"}),
        ("failed", {"added": 0, "removed": 0}, {"failure"}),
        ("blocked", {"added": 0, "removed": 0}, {"failure"}),
    ],
)
def test_events(result: str, changes: dict[str, int], events: set[str]) -> None:
    assert report(result, **changes).events() == events


def test_nothing_sent_when_no_event_matches() -> None:
    # Both channels point nowhere reachable: trying to send would produce failed deliveries.
    notify = Notify(
        email=("a@example.com",), webhook=Secret("http://127.0.0.1:1/x"), on=("failure",)
    )
    env = {"COHORTOPS_SMTP_HOST": "127.0.0.1", "COHORTOPS_SMTP_PORT": str(closed_port())}
    assert deliver(notify, report(), environ=env) == ()
    quiet = Notify(email=("a@example.com",), on=("failure", "changes"))
    assert deliver(quiet, report("no-changes", added=0, removed=0), environ=env) == ()


# -- email ---------------------------------------------------------------------------------------


def test_email_reaches_every_recipient(smtp_server: SmtpServer) -> None:
    notify = Notify(email=("growth@example.com", "ops@example.com"), on=("changes",))
    sent = deliver(notify, report(), environ=smtp_server.env())
    assert sent == (Delivery("email", True, f"2 recipient(s) via 127.0.0.1:{smtp_server.port}"),)
    [received] = smtp_server.messages
    assert received.sender == "cohortops@example.com"
    assert received.recipients == ("growth@example.com", "ops@example.com")
    message = received.message
    assert message["Subject"] == "[cohortops] Power users (power-users): +120 / -4 members"
    assert message["From"] == "cohortops@example.com"
    assert message["To"] == "growth@example.com, ops@example.com"
    lines = message.get_content().splitlines()
    assert {"Added: 120", "Removed: 4", "Result: success"} <= set(lines)


def test_email_with_login(smtp_server: SmtpServer) -> None:
    env = smtp_server.env(COHORTOPS_SMTP_USER="robot", COHORTOPS_SMTP_PASSWORD=SMTP_PASSWORD)
    [sent] = deliver(Notify(email=("a@example.com",)), report(), environ=env)
    assert sent.ok, sent.detail
    assert len(smtp_server.messages) == 1


def test_email_wrong_password_is_a_warning_without_the_password(smtp_server: SmtpServer) -> None:
    env = smtp_server.env(COHORTOPS_SMTP_USER="robot", COHORTOPS_SMTP_PASSWORD="wrong-password-1")
    [sent] = deliver(Notify(email=("a@example.com",)), report(), environ=env)
    assert not sent.ok
    assert "refused the login of robot (535)" in sent.detail
    assert "wrong-password-1" not in sent.detail and "wrong-password-1" not in sent.line("c")
    assert smtp_server.messages == []


def test_email_starttls_is_required_when_asked(smtp_server: SmtpServer) -> None:
    env = smtp_server.env(COHORTOPS_SMTP_STARTTLS="true")
    [sent] = deliver(Notify(email=("a@example.com",)), report(), environ=env)
    assert not sent.ok  # the server offers no STARTTLS: refusing beats sending in clear text
    assert smtp_server.messages == []


def test_email_connection_refused_is_a_warning() -> None:
    port = closed_port()
    env = {
        "COHORTOPS_SMTP_HOST": "127.0.0.1",
        "COHORTOPS_SMTP_PORT": str(port),
        "COHORTOPS_SMTP_USER": "robot",
        "COHORTOPS_SMTP_PASSWORD": SMTP_PASSWORD,
    }
    [sent] = deliver(Notify(email=("a@example.com",)), report(), environ=env)
    assert sent == Delivery("email", False, f"SMTP 127.0.0.1:{port}: connection refused")
    assert sent.line("power-users") == (
        f"  warning: power-users: email notification failed: SMTP 127.0.0.1:{port}: "
        "connection refused"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "COHORTOPS_SMTP_HOST is not set"),
        ({"COHORTOPS_SMTP_HOST": "h", "COHORTOPS_SMTP_PORT": "smtp"}, "must be a port number"),
        ({"COHORTOPS_SMTP_HOST": "h", "COHORTOPS_SMTP_STARTTLS": "yes"}, "must be true or false"),
    ],
)
def test_email_settings_errors_are_warnings(env: dict[str, str], message: str) -> None:
    [sent] = deliver(Notify(email=("a@example.com",)), report(), environ=env)
    assert not sent.ok and message in sent.detail


def test_smtp_settings_defaults_and_repr() -> None:
    settings = SmtpSettings.from_env(
        {"COHORTOPS_SMTP_HOST": "mail", "COHORTOPS_SMTP_PASSWORD": SMTP_PASSWORD}
    )
    assert (settings.port, settings.starttls, settings.user) == (25, False, None)
    assert settings.sender.startswith("cohortops@")
    assert SMTP_PASSWORD not in repr(settings)


# -- webhook -------------------------------------------------------------------------------------


def hook_notify(on: tuple[Any, ...] = ("success", "failure")) -> Notify:
    return Notify(webhook=Secret("${env:HOOK_URL}", "cohorts.power-users.notify.webhook"), on=on)


def test_webhook_posts_slack_compatible_json(webhook: WebhookReceiver) -> None:
    [sent] = deliver(hook_notify(), report(), environ={"HOOK_URL": webhook.url})
    assert sent == Delivery("webhook", True, "HTTP 200")
    [hook] = webhook.requests
    assert hook.path == f"/services/{HOOK_TOKEN}"
    assert hook.headers["Content-Type"] == "application/json"
    assert hook.body["text"].startswith(
        "[cohortops] Power users (power-users): +120 / -4 members\n"
    )
    assert "Members now: 1,234" in hook.body["text"]
    fields = hook.body["cohortops"]
    assert fields["cohort_id"] == "power-users"
    assert fields["result"] == "success"
    assert (fields["added"], fields["removed"], fields["total_members"]) == (120, 4, 1234)
    assert fields["started_at"] == "2024-03-10T05:00:00+00:00"
    assert fields["apply_id"] == "abc123"
    assert hook.body == json.loads(json.dumps(webhook_payload(report())))


def test_webhook_retries_once_on_5xx(webhook: WebhookReceiver) -> None:
    webhook.statuses = [503]
    pauses: list[float] = []
    [sent] = deliver(
        hook_notify(), report(), environ={"HOOK_URL": webhook.url}, sleep=pauses.append
    )
    assert sent.ok
    assert len(webhook.requests) == 2 and pauses == [RETRY_DELAY]


def test_webhook_gives_up_after_one_retry(webhook: WebhookReceiver) -> None:
    webhook.statuses = [500, 502, 200]
    [sent] = deliver(
        hook_notify(), report(), environ={"HOOK_URL": webhook.url}, sleep=lambda s: None
    )
    assert sent == Delivery("webhook", False, "the receiver answered HTTP 502 (after one retry)")
    assert len(webhook.requests) == 2


def test_webhook_4xx_is_not_retried(webhook: WebhookReceiver) -> None:
    webhook.statuses = [404]
    [sent] = deliver(
        hook_notify(), report(), environ={"HOOK_URL": webhook.url}, sleep=lambda s: None
    )
    assert sent == Delivery("webhook", False, "the receiver answered HTTP 404")
    assert len(webhook.requests) == 1


def test_webhook_connection_refused_is_retried_then_a_warning() -> None:
    url = f"http://127.0.0.1:{closed_port()}/services/{HOOK_TOKEN}"
    pauses: list[float] = []
    [sent] = deliver(hook_notify(), report(), environ={"HOOK_URL": url}, sleep=pauses.append)
    assert sent == Delivery("webhook", False, "connection refused (after one retry)")
    assert pauses == [RETRY_DELAY]
    assert HOOK_TOKEN not in sent.line("power-users")


def test_webhook_timeout() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/services/{HOOK_TOKEN}"
        [sent] = deliver(
            hook_notify(), report(), environ={"HOOK_URL": url}, timeout=0.2, sleep=lambda s: None
        )
    assert sent == Delivery("webhook", False, "timed out (after one retry)")


def test_webhook_missing_variable_is_a_warning() -> None:
    [sent] = deliver(hook_notify(), report(), environ={})
    assert not sent.ok
    assert "Environment variable HOOK_URL is not set" in sent.detail
    assert "cohorts.power-users.notify.webhook" in sent.detail


def test_webhook_scheme_is_checked_without_showing_the_url() -> None:
    url = f"ftp://example.com/{HOOK_TOKEN}"
    [sent] = deliver(hook_notify(), report(), environ={"HOOK_URL": url})
    assert sent == Delivery("webhook", False, "the webhook URL must start with https:// or http://")


def test_unexpected_errors_never_show_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(request: urllib.request.Request, timeout: float) -> Any:
        raise ValueError(f"cannot open {request.full_url}")

    monkeypatch.setattr(urllib.request, "urlopen", explode)
    url = f"https://hooks.example.com/services/{HOOK_TOKEN}"
    [sent] = deliver(hook_notify(), report(), environ={"HOOK_URL": url})
    assert sent == Delivery("webhook", False, "ValueError: cannot open ***")


def test_one_failing_channel_does_not_stop_the_other(webhook: WebhookReceiver) -> None:
    notify = Notify(email=("a@example.com",), webhook=Secret("${env:HOOK_URL}"), on=("success",))
    email_sent, hook_sent = deliver(notify, report(), environ={"HOOK_URL": webhook.url})
    assert (email_sent.channel, email_sent.ok) == ("email", False)
    assert (hook_sent.channel, hook_sent.ok) == ("webhook", True)


def test_deliver_reads_os_environ_by_default(
    webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", webhook.url)
    [sent] = deliver(hook_notify(), report())
    assert sent.ok
