"""The Lytics HTTP layer: auth forms, envelope status forms, bounded retries, no token leaks."""

from __future__ import annotations

import httpx
import orjson
import pytest

from cohortops.errors import LyticsError
from cohortops.lytics import LyticsHttp, envelope_status

TOKEN = "secret-token-123"


def client(handler: httpx.MockTransport, **kwargs: object) -> LyticsHttp:
    return LyticsHttp(
        "http://lytics.test",
        TOKEN,
        what="Cohort c",
        token_hint="LYTICS_TOKEN",
        transport=handler,
        sleep=lambda _s: None,
        **kwargs,  # type: ignore[arg-type]
    )


def reply(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers=headers)


@pytest.mark.parametrize(
    ("value", "expected"), [(200, 200), ("200", 200), (" 429 ", 429), ("ok", None), (True, None)]
)
def test_envelope_status_number_or_string(value: object, expected: int | None) -> None:
    assert envelope_status({"status": value}) == expected


def test_token_goes_in_the_authorization_header_as_is_or_as_key() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(200, {"status": 200, "data": []})

    client(httpx.MockTransport(handle)).request("GET", "/api/x")
    client(httpx.MockTransport(handle), key_in_query=True).request("GET", "/api/x")
    assert seen[0].headers["authorization"] == TOKEN
    assert "authorization" not in seen[1].headers and seen[1].url.params["key"] == TOKEN


def test_retries_429_and_5xx_then_succeeds() -> None:
    answers = [
        reply(429, {"status": 429}, {"retry-after": "1"}),
        reply(503, {}),
        reply(200, {"status": "200", "ok": 1}),
    ]
    http = client(httpx.MockTransport(lambda _r: answers.pop(0)))
    assert http.request("GET", "/api/x") == {"status": "200", "ok": 1}
    assert http.retries == 2


def test_timeouts_are_retried_within_bounds() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    http = client(httpx.MockTransport(handle), max_attempts=3)
    with pytest.raises(LyticsError) as info:
        http.request("GET", "/api/x")
    assert info.value.aborts_run and http.requests == 3
    assert "gave up after 3 attempts" in str(info.value)


def test_envelope_error_under_http_200_is_an_error() -> None:
    http = client(httpx.MockTransport(lambda _r: reply(200, {"status": "400", "message": "bad"})))
    with pytest.raises(LyticsError, match="bad"):
        http.request("GET", "/api/x")


def test_auth_errors_name_the_variable_never_the_token() -> None:
    body = {"status": 401, "message": f"invalid token {TOKEN}"}
    http = client(httpx.MockTransport(lambda _r: reply(401, body)))
    with pytest.raises(LyticsError) as info:
        http.request("GET", "/api/x")
    text = str(info.value)
    assert "LYTICS_TOKEN" in text and TOKEN not in text and info.value.aborts_run
