"""Secrets never show up in logs, errors, reprs or results, whatever Braze answers."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from cohortops.braze import AttributeBatch, BatchResult, BrazeClient, CohortImportBatch
from cohortops.errors import BrazeError

from .fakes import Reply, Script, fail, ok
from .test_client import cohort_batch, track_batch

API_KEY = "MARKER-API-KEY-1f2e"
PARTNER_KEY = "MARKER-PARTNER-KEY-3d4c"
SECRET = "MARKER-CLIENT-SECRET-5b6a"
MARKERS = (API_KEY, PARTNER_KEY, SECRET)

ECHO = f"bad key {API_KEY} / {PARTNER_KEY} / {SECRET}"


def replies() -> list[Callable[[], Reply]]:
    return [
        lambda: ok(),
        lambda: ok({"message": "success", "errors": [{"type": ECHO, "index": 0}]}),
        lambda: fail(400, ECHO),
        lambda: fail(401, ECHO),
        lambda: fail(403, ECHO),
        lambda: fail(404, ECHO),
        lambda: httpx.Response(400, content=ECHO.encode()),
        lambda: fail(503, ECHO),
        lambda: fail(429, ECHO),
        lambda: httpx.ReadTimeout(ECHO),
        lambda: httpx.ConnectError(ECHO),
        lambda: httpx.UnsupportedProtocol(ECHO),
    ]


def leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


@pytest.mark.parametrize("reply", replies())
def test_no_secret_in_any_output(
    reply: Callable[[], Reply],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(*(reply() for _ in range(40)))
    client = BrazeClient(
        "https://rest.example.test",
        API_KEY,
        destination_id="d",
        transport=httpx.MockTransport(script),
        max_attempts=2,
        backoff_base=0,
        requests_per_second=1e9,
        export_requests_per_second=1e9,
    )
    texts: list[str] = [repr(client), str(client), repr(vars(client))]
    partner = {"partner_api_key": PARTNER_KEY, "client_secret": SECRET}
    # Partner secrets reach the client with its first partner call; from then on any text
    # Braze returns, on any endpoint, is redacted of them.
    results: list[BatchResult[CohortImportBatch] | BatchResult[AttributeBatch]] = [
        client.cohort_import(cohort_batch(), **partner),
        client.track_attributes(track_batch()),
    ]
    for result in results:
        texts += [repr(result), str(result.failed)]
        if result.error is not None:
            texts += [
                str(result.error),
                repr(result.error),
                *traceback.format_exception(result.error),
            ]
    calls: list[Callable[[], object]] = [
        lambda: client.export_ids(["u1"]),
        lambda: client.create_or_rename_cohort(
            "kubit", "c", "C", created_at=datetime.now(UTC), **partner
        ),
    ]
    for call in calls:
        try:
            texts.append(repr(call()))
        except BrazeError as error:
            texts += [str(error), repr(error), *traceback.format_exception(error)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    client.close()
    assert leaks("\n".join(texts)) == []
    # The REST key goes only where it belongs: the Authorization header of REST calls.
    for request in script.requests:
        is_partner = "/partners/" in request.url.path
        assert ("authorization" in request.headers) != is_partner
        assert API_KEY not in request.content.decode()


def test_braze_echo_is_redacted_not_dropped() -> None:
    script = Script(fail(400, ECHO))
    client = BrazeClient(
        "https://rest.example.test",
        API_KEY,
        destination_id="d",
        transport=httpx.MockTransport(script),
    )
    result = client.cohort_import(cohort_batch(), partner_api_key=PARTNER_KEY, client_secret=SECRET)
    assert "bad key [redacted] / [redacted] / [redacted]" in str(result.error)
