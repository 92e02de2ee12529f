"""Email against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import pytest

from cohortops.config.model import Notify
from cohortops.notify import (
    SMTP_POLICY,
    Delivery,
    SmtpSettings,
    deliver,
)

from .conftest import (
    SMTP_PASSWORD,
    SmtpServer,
    closed_port,
    report,
)


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


def test_email_transient_reply_is_retried_once(smtp_server: SmtpServer) -> None:
    smtp_server.inbox.replies = ["451 4.3.0 try again later"]
    pauses: list[float] = []
    notify = Notify(email=("a@example.com",), on=("changes",))
    [sent] = deliver(notify, report(), environ=smtp_server.env(), sleep=pauses.append)
    assert sent.ok, sent.detail
    assert len(smtp_server.messages) == 1
    [pause] = pauses
    assert 0 <= pause <= SMTP_POLICY.backoff_cap


def test_email_gives_up_after_one_retry_and_never_retries_5xx(smtp_server: SmtpServer) -> None:
    notify = Notify(email=("a@example.com",), on=("changes",))
    smtp_server.inbox.replies = ["451 4.3.0 busy", "452 4.3.1 still busy"]
    [sent] = deliver(notify, report(), environ=smtp_server.env(), sleep=lambda s: None)
    where = f"127.0.0.1:{smtp_server.port}"
    assert (
        sent.detail == f"SMTP {where}: the server answered 452 4.3.1 still busy (after one retry)"
    )
    smtp_server.inbox.replies = ["554 5.7.1 rejected"]
    pauses: list[float] = []
    [sent] = deliver(notify, report(), environ=smtp_server.env(), sleep=pauses.append)
    assert sent.detail == f"SMTP {where}: the server answered 554 5.7.1 rejected"
    assert pauses == [] and smtp_server.messages == []
