"""The webhook against a real HTTP receiver on 127.0.0.1, through the shared HTTP layer."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from proxyserver import Proxy

from cohortops.http.client import MockTransport
from cohortops.notify import (
    WEBHOOK_POLICY,
    Delivery,
    deliver,
    webhook_payload,
)

from .conftest import (
    HOOK_TOKEN,
    WebhookReceiver,
    closed_port,
    hook_notify,
    report,
)


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
    assert len(webhook.requests) == 2
    [pause] = pauses
    assert 0 <= pause <= WEBHOOK_POLICY.backoff_cap  # full jitter


def test_webhook_waits_what_retry_after_asks(webhook: WebhookReceiver) -> None:
    webhook.statuses = [429]
    webhook.headers = {"Retry-After": "7"}
    pauses: list[float] = []
    [sent] = deliver(
        hook_notify(), report(), environ={"HOOK_URL": webhook.url}, sleep=pauses.append
    )
    assert sent.ok and pauses == [7.0] and len(webhook.requests) == 2


def test_webhook_retry_after_beyond_the_deadline_gives_up_at_once(
    webhook: WebhookReceiver,
) -> None:
    webhook.statuses = [503]
    webhook.headers = {"Retry-After": "3600"}
    pauses: list[float] = []
    [sent] = deliver(
        hook_notify(), report(), environ={"HOOK_URL": webhook.url}, sleep=pauses.append
    )
    assert sent == Delivery("webhook", False, "the receiver answered HTTP 503")
    assert pauses == [] and len(webhook.requests) == 1


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


def test_webhook_connection_refused_fails_fast() -> None:
    url = f"http://127.0.0.1:{closed_port()}/services/{HOOK_TOKEN}"
    pauses: list[float] = []
    [sent] = deliver(hook_notify(), report(), environ={"HOOK_URL": url}, sleep=pauses.append)
    assert sent == Delivery("webhook", False, "connection refused")
    assert pauses == []  # nothing listens: a retry would not change that
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


def test_unexpected_errors_never_show_the_secret() -> None:
    def explode(request: Any) -> Any:
        raise ValueError(f"cannot open {request.url}")

    url = f"https://hooks.example.com/services/{HOOK_TOKEN}"
    [sent] = deliver(
        hook_notify(), report(), environ={"HOOK_URL": url}, transport=MockTransport(explode)
    )
    assert sent == Delivery("webhook", False, "ValueError: cannot open ***")


def test_webhook_goes_through_the_proxy_the_environment_names(
    webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = Proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    try:
        [sent] = deliver(hook_notify(), report(), environ={"HOOK_URL": webhook.url})
    finally:
        proxy.close()
    assert sent == Delivery("webhook", True, "HTTP 200")
    assert proxy.requests == [f"POST {webhook.url}"] and len(webhook.requests) == 1


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "169.254.10.1",
        "[fd00:ec2::254]",
        "[fe80::1]",
        "[::ffff:169.254.169.254]",
        "metadata.google.internal",
    ],
)
def test_webhook_refuses_link_local_and_metadata_addresses(host: str) -> None:
    def never(request: Any) -> Any:
        raise AssertionError("nothing may be sent")

    url = f"http://{host}/latest/meta-data/{HOOK_TOKEN}"
    [sent] = deliver(
        hook_notify(), report(), environ={"HOOK_URL": url}, transport=MockTransport(never)
    )
    assert not sent.ok
    assert "link-local or cloud metadata" in sent.detail or "metadata name" in sent.detail
    assert "COHORTOPS_WEBHOOK_ALLOW_LINK_LOCAL=1" in sent.detail and HOOK_TOKEN not in sent.detail


def test_link_local_can_be_allowed_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    from cohortops.notify.addresses import refused_target

    url = "http://169.254.169.254/x"
    assert refused_target(url, resolve=False) is not None
    monkeypatch.setenv("COHORTOPS_WEBHOOK_ALLOW_LINK_LOCAL", "1")
    assert refused_target(url, resolve=False) is None
    assert refused_target("http://10.0.0.5/hook", resolve=False, environ={}) is None


def test_webhook_never_follows_a_redirect_to_metadata(webhook: WebhookReceiver) -> None:
    webhook.statuses = [302]
    webhook.headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    [sent] = deliver(hook_notify(), report(), environ={"HOOK_URL": webhook.url})
    assert not sent.ok and "redirects are never followed" in sent.detail
    assert len(webhook.requests) == 1
