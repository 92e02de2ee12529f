"""deliver(): which channels run, and that one failing never stops another."""

from __future__ import annotations

import pytest

from cohortops.config.model import Notify, Secret
from cohortops.notify import (
    deliver,
)

from .conftest import (
    WebhookReceiver,
    closed_port,
    hook_notify,
    report,
)


def test_nothing_sent_when_no_event_matches() -> None:
    # Both channels point nowhere reachable: trying to send would produce failed deliveries.
    notify = Notify(
        email=("a@example.com",), webhook=Secret("http://127.0.0.1:1/x"), on=("failure",)
    )
    env = {"COHORTOPS_SMTP_HOST": "127.0.0.1", "COHORTOPS_SMTP_PORT": str(closed_port())}
    assert deliver(notify, report(), environ=env) == ()
    quiet = Notify(email=("a@example.com",), on=("failure", "changes"))
    assert deliver(quiet, report("no-changes", added=0, removed=0), environ=env) == ()


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
