"""Tell people how a cohort's run went: email over SMTP and a JSON (Slack-compatible) webhook.

A notification is a side effect of a run, never part of it: :func:`deliver` does not raise, it
returns one :class:`Delivery` per channel and the caller prints the failed ones as warnings.
Secrets (the webhook URL, the SMTP password) never reach a message: errors are masked.
``report`` holds what is told, ``email`` and ``webhook`` the channels; both retry through the
shared policy of ``cohortops.http.retry`` with their own settings.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from cohortops.config.model import Notify
from cohortops.errors import CohortopsError
from cohortops.http.client import Transport
from cohortops.http.masking import mask
from cohortops.notify.email import SMTP_POLICY, SmtpSettings, send_email
from cohortops.notify.report import (
    FAILURES,
    TIMEOUT,
    Channel,
    Delivery,
    NotifyError,
    RunReport,
    RunResult,
)
from cohortops.notify.webhook import WEBHOOK_POLICY, post_webhook, webhook_payload

__all__ = [
    "FAILURES",
    "SMTP_POLICY",
    "TIMEOUT",
    "WEBHOOK_POLICY",
    "Channel",
    "Delivery",
    "NotifyError",
    "RunReport",
    "RunResult",
    "SmtpSettings",
    "deliver",
    "post_webhook",
    "send_email",
    "webhook_payload",
]


def deliver(
    notify: Notify,
    report: RunReport,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    transport: Transport | None = None,
) -> tuple[Delivery, ...]:
    """Send the report on every channel ``notify`` configures, when one of its events occurred.

    ``sleep`` and ``transport`` (the webhook's) exist for tests.
    """
    env = os.environ if environ is None else environ
    if report.events().isdisjoint(notify.on):
        return ()
    sent: list[Delivery] = []
    if notify.email:
        recipients = notify.email
        sent.append(
            _guarded(
                "email",
                lambda: send_email(recipients, report, env, timeout, sleep=sleep),
                secrets=lambda: [env.get("COHORTOPS_SMTP_PASSWORD")],
            )
        )
    if notify.webhook is not None:
        webhook = notify.webhook

        def post() -> str:
            url = webhook.reveal(env)
            return post_webhook(url, report, timeout=timeout, sleep=sleep, transport=transport)

        sent.append(_guarded("webhook", post, secrets=lambda: _revealed(webhook, env)))
    return tuple(sent)


def _revealed(secret: Any, environ: Mapping[str, str]) -> list[str | None]:
    try:
        return [secret.reveal(environ)]
    except CohortopsError:
        return []


def _guarded(
    channel: Channel,
    send: Callable[[], str],
    *,
    secrets: Callable[[], list[str | None]] = list,
) -> Delivery:
    try:
        return Delivery(channel, True, send())
    except CohortopsError as exc:
        return Delivery(channel, False, mask(str(exc), secrets()))
    except Exception as exc:  # a notification must never fail the run it reports on
        return Delivery(channel, False, mask(f"{type(exc).__name__}: {exc}", secrets()))
