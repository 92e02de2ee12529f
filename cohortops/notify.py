"""Tell people how a cohort's run went: email over SMTP and a JSON (Slack-compatible) webhook.

A notification is a side effect of a run, never part of it: :func:`deliver` does not raise, it
returns one :class:`Delivery` per channel and the caller prints the failed ones as warnings.
Secrets (the webhook URL, the SMTP password) never reach a message: errors are rewritten
without them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal

from cohortops import __version__
from cohortops.config.model import Notify
from cohortops.errors import CohortopsError

RunResult = Literal["success", "failed", "partial", "no-changes", "blocked"]
Channel = Literal["email", "webhook"]

TIMEOUT = 10.0  # seconds, per SMTP session and per webhook request
RETRY_DELAY = 1.0  # seconds before the one webhook retry
FAILURES: frozenset[str] = frozenset({"failed", "partial", "blocked"})
TIME = "%Y-%m-%d %H:%M:%S UTC"


@dataclass(frozen=True)
class RunReport:
    """What one cohort's run did, as the notifications tell it."""

    cohort_id: str
    cohort_name: str
    trigger: str
    result: RunResult
    started_at: dt.datetime
    ended_at: dt.datetime
    added: int = 0
    removed: int = 0
    failed: int = 0
    total_members: int = 0
    error: str | None = None
    apply_id: str | None = None

    @property
    def is_failure(self) -> bool:
        return self.result in FAILURES

    @property
    def has_changes(self) -> bool:
        return self.added > 0 or self.removed > 0

    def events(self) -> frozenset[str]:
        """The ``notify.on`` events this run raises."""
        found = {"failure"} if self.is_failure else {"success"}
        if self.has_changes:
            found.add("changes")
        return frozenset(found)

    @property
    def title(self) -> str:
        return (
            self.cohort_name
            if self.cohort_name == self.cohort_id
            else (f"{self.cohort_name} ({self.cohort_id})")
        )

    def subject(self) -> str:
        counts = f"+{self.added:,} / -{self.removed:,}"
        text = {
            "success": f"{self.title}: {counts} members",
            "no-changes": f"{self.title}: no changes",
            "partial": f"PARTIAL: {self.title}: {counts}, {self.failed:,} failed",
            "failed": f"FAILED: {self.title}",
            "blocked": f"BLOCKED: {self.title} was not applied",
        }[self.result]
        return f"[cohortops] {text}"

    def body(self) -> str:
        seconds = (self.ended_at - self.started_at).total_seconds()
        lines = [
            f"Cohort: {self.title}",
            f"Result: {self.result}",
            f"Trigger: {self.trigger}",
            f"Started: {_utc(self.started_at)}",
            f"Ended: {_utc(self.ended_at)} ({seconds:.1f} s)",
            f"Added: {self.added:,}",
            f"Removed: {self.removed:,}",
            f"Failed: {self.failed:,}",
            f"Members now: {self.total_members:,}",
        ]
        if self.apply_id:
            lines.append(f"Apply: {self.apply_id}")
        if self.error:
            lines.append(f"Error: {self.error}")
        return "\n".join(lines) + "\n"

    def fields(self) -> dict[str, Any]:
        return {
            "cohort_id": self.cohort_id,
            "cohort_name": self.cohort_name,
            "trigger": self.trigger,
            "result": self.result,
            "added": self.added,
            "removed": self.removed,
            "failed": self.failed,
            "total_members": self.total_members,
            "started_at": self.started_at.astimezone(dt.UTC).isoformat(),
            "ended_at": self.ended_at.astimezone(dt.UTC).isoformat(),
            "error": self.error,
            "apply_id": self.apply_id,
        }


@dataclass(frozen=True)
class Delivery:
    """The outcome of one channel; ``detail`` is safe to print (no secret in it)."""

    channel: Channel
    ok: bool
    detail: str

    def line(self, cohort_id: str) -> str:
        if self.ok:
            return f"  {cohort_id}: notified by {self.channel} ({self.detail})"
        return f"  warning: {cohort_id}: {self.channel} notification failed: {self.detail}"


class NotifyError(CohortopsError):
    """A notification could not be sent (reported as a warning, never fails a run)."""


@dataclass(frozen=True, repr=False)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "cohortops@localhost"
    starttls: bool = False

    def __repr__(self) -> str:
        return f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings:
        host = environ.get("COHORTOPS_SMTP_HOST", "").strip()
        if not host:
            raise NotifyError(
                "COHORTOPS_SMTP_HOST is not set; export it (and COHORTOPS_SMTP_PORT, _USER, "
                "_PASSWORD, _FROM, _STARTTLS as needed) to send email."
            )
        port_text = environ.get("COHORTOPS_SMTP_PORT", "").strip() or "25"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise NotifyError(f"COHORTOPS_SMTP_PORT must be a port number, got {port_text!r}.")
        tls = environ.get("COHORTOPS_SMTP_STARTTLS", "").strip().lower() or "false"
        if tls not in ("true", "false"):
            raise NotifyError(f"COHORTOPS_SMTP_STARTTLS must be true or false, got {tls!r}.")
        return cls(
            host=host,
            port=int(port_text),
            user=environ.get("COHORTOPS_SMTP_USER") or None,
            password=environ.get("COHORTOPS_SMTP_PASSWORD") or None,
            sender=environ.get("COHORTOPS_SMTP_FROM") or f"cohortops@{socket.gethostname()}",
            starttls=tls == "true",
        )


def deliver(
    notify: Notify,
    report: RunReport,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Delivery, ...]:
    """Send the report on every channel ``notify`` configures, when one of its events occurred."""
    env = os.environ if environ is None else environ
    if report.events().isdisjoint(notify.on):
        return ()
    sent: list[Delivery] = []
    if notify.email:
        sent.append(
            _guarded(
                "email",
                lambda: send_email(notify.email, report, env, timeout),
                secrets=lambda: [env.get("COHORTOPS_SMTP_PASSWORD")],
            )
        )
    if notify.webhook is not None:
        webhook = notify.webhook

        def post() -> str:
            url = webhook.reveal(env)
            return post_webhook(url, report, timeout=timeout, sleep=sleep)

        sent.append(_guarded("webhook", post, secrets=lambda: _revealed(webhook, env)))
    return tuple(sent)


def send_email(
    recipients: Iterable[str], report: RunReport, environ: Mapping[str, str], timeout: float
) -> str:
    settings = SmtpSettings.from_env(environ)
    to = list(recipients)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(to)
    message["Subject"] = report.subject()
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="cohortops")
    message.set_content(report.body())
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            refused = smtp.send_message(message, to_addrs=to)
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(
            f"the SMTP server {settings.host}:{settings.port} refused the login of "
            f"{settings.user} ({exc.smtp_code}); check COHORTOPS_SMTP_USER and _PASSWORD"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = _scrub(_describe(exc), [settings.password])
        raise NotifyError(f"SMTP {settings.host}:{settings.port}: {reason}") from None
    if refused:
        raise NotifyError(f"the SMTP server refused {', '.join(sorted(refused))}")
    return f"{len(to)} recipient(s) via {settings.host}:{settings.port}"


def webhook_payload(report: RunReport) -> dict[str, Any]:
    """Slack reads ``text``; other receivers read the structured ``cohortops`` object."""
    return {
        "text": f"{report.subject()}\n{report.body()}".rstrip("\n"),
        "cohortops": {"version": __version__, **report.fields()},
    }


def post_webhook(
    url: str,
    report: RunReport,
    *,
    timeout: float = TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    if not url.lower().startswith(("https://", "http://")):
        raise NotifyError("the webhook URL must start with https:// or http://")
    body = json.dumps(webhook_payload(report)).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"cohortops/{__version__}"},
    )
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = int(response.status)
            return f"HTTP {status}"
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code < 500 or attempt == 2:
                raise NotifyError(
                    f"the receiver answered HTTP {exc.code}{_retried(attempt)}"
                ) from None
        except (urllib.error.URLError, OSError) as exc:
            if attempt == 2:
                raise NotifyError(f"{_describe(exc)}{_retried(attempt)}") from None
        sleep(RETRY_DELAY)
    raise AssertionError("unreachable")  # pragma: no cover


def _retried(attempt: int) -> str:
    return " (after one retry)" if attempt == 2 else ""


def _describe(exc: BaseException) -> str:
    """A short reason, without the URL that urllib sometimes puts in its messages."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        return _describe(reason) if isinstance(reason, BaseException) else str(reason)
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the server refused every recipient ({', '.join(sorted(exc.recipients))})"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return f"the server answered {exc.smtp_code} {text}".strip()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


def _revealed(secret: Any, environ: Mapping[str, str]) -> list[str | None]:
    try:
        return [secret.reveal(environ)]
    except CohortopsError:
        return []


def _scrub(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:  # a 1-3 character "secret" would garble the message
            text = text.replace(secret, "***")
    return text


def _guarded(
    channel: Channel,
    send: Callable[[], str],
    *,
    secrets: Callable[[], list[str | None]] = list,
) -> Delivery:
    try:
        return Delivery(channel, True, send())
    except CohortopsError as exc:
        return Delivery(channel, False, _scrub(str(exc), secrets()))
    except Exception as exc:  # a notification must never fail the run it reports on
        return Delivery(channel, False, _scrub(f"{type(exc).__name__}: {exc}", secrets()))


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime(TIME)
