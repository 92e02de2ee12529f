"""Email over SMTP; a transient failure (4xx reply, timeout, dropped session) is retried once."""

from __future__ import annotations

import random
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from cohortops.http.client import describe
from cohortops.http.masking import mask
from cohortops.http.retry import Again, Attempt, GaveUp, RetryPolicy, retry
from cohortops.notify.report import TIMEOUT, NotifyError, RunReport, retried

# Refused connections, unknown hosts and TLS failures are configuration: they fail at once.
SMTP_POLICY = RetryPolicy(
    max_attempts=2,
    max_retry_seconds=30.0,
    backoff_base=1.0,
    backoff_cap=1.0,
    retry_statuses=frozenset(),
    retry_server_errors=False,
    retry_on=(smtplib.SMTPServerDisconnected, TimeoutError, ConnectionResetError),
    fail_fast=(ConnectionRefusedError, socket.gaierror, ssl.SSLError),
)


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


def send_email(
    recipients: Iterable[str],
    report: RunReport,
    environ: Mapping[str, str],
    timeout: float = TIMEOUT,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
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
    where = f"{settings.host}:{settings.port}"

    def attempt(now: Attempt) -> dict[str, tuple[int, bytes]] | Again:
        try:
            return _session(settings, message, to, timeout)
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(
                f"the SMTP server {where} refused the login of "
                f"{settings.user} ({exc.smtp_code}); check COHORTOPS_SMTP_USER and _PASSWORD"
            ) from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:  # "try again later"
                return Again(_reason(exc), exc.smtp_code)
            raise

    def gave_up(end: GaveUp) -> NotifyError:
        return NotifyError(
            f"SMTP {where}: {_scrubbed(end.last.reason, settings)}{retried(end.attempts)}"
        )

    try:
        refused = retry(
            attempt, SMTP_POLICY, gave_up=gave_up, sleep=sleep, rng=rng, describe=_reason
        )
    except (smtplib.SMTPException, OSError) as exc:
        raise NotifyError(f"SMTP {where}: {_scrubbed(_reason(exc), settings)}") from None
    if refused:
        raise NotifyError(f"the SMTP server refused {', '.join(sorted(refused))}")
    return f"{len(to)} recipient(s) via {where}"


def _session(
    settings: SmtpSettings, message: EmailMessage, to: list[str], timeout: float
) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        return smtp.send_message(message, to_addrs=to)


def _scrubbed(text: str, settings: SmtpSettings) -> str:
    return mask(text, [settings.password])


def _reason(exc: BaseException) -> str:
    """A short reason for an SMTP failure."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the server refused every recipient ({', '.join(sorted(exc.recipients))})"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return f"the server answered {exc.smtp_code} {text}".strip()
    return describe(exc)
