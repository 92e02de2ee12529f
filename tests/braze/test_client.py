"""BrazeClient against httpx.MockTransport: every status path, with a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from cohortops.braze import (
    AttributeBatch,
    BrazeAuthError,
    BrazeBadRequestError,
    BrazeClient,
    BrazeEndpointError,
    BrazePermissionError,
    BrazeRequestError,
    BrazeRetriesExhausted,
    CohortImportBatch,
    IdentifierKind,
)
from cohortops.braze.errors import BrazeUnreachableError
from cohortops.errors import BrazeError
from cohortops.membership import MemberOp

from .fakes import WALL_EPOCH, FakeClock, Script, fail, ok

MakeClient = Callable[..., BrazeClient]


def track_batch(
    ids: tuple[str, ...] = ("u1", "u2", "u3"),
    *,
    action: MemberOp = "add",
    identifier: IdentifierKind = "external_id",
    alias_label: str | None = None,
    update_existing_only: bool = False,
) -> AttributeBatch:
    return AttributeBatch(
        attribute="lytics_segments",
        value="churn-risk",
        action=action,
        identifier=identifier,
        alias_label=alias_label,
        ids=ids,
        update_existing_only=update_existing_only,
    )


def cohort_batch(
    ids: tuple[str, ...] = ("u1", "u2"),
    *,
    action: MemberOp = "add",
    identifier: IdentifierKind = "external_id",
    alias_label: str | None = None,
) -> CohortImportBatch:
    return CohortImportBatch(
        partner="kubit",
        cohort_id="power-users",
        action=action,
        identifier=identifier,
        alias_label=alias_label,
        ids=ids,
    )


PARTNER = {"partner_api_key": "partner-key-456", "client_secret": "secret-789"}


# -- 2xx ---------------------------------------------------------------------------------------


def test_success_acknowledges_all_and_sends_the_documented_body(make_client: MakeClient) -> None:
    script = Script(ok({"message": "success", "attributes_processed": 3}))
    result = make_client(script).track_attributes(track_batch())
    assert result.acknowledged == ("u1", "u2", "u3")
    assert result.failed == () and result.error is None
    request = script.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://rest.fra-01.braze.eu/users/track"
    assert request.headers["authorization"] == "Bearer rest-key-123"
    assert request.headers["content-type"] == "application/json"
    assert script.bodies[0] == {
        "attributes": [
            {
                "external_id": u,
                "_update_existing_only": False,
                "lytics_segments": {"add": ["churn-risk"]},
            }
            for u in ("u1", "u2", "u3")
        ]
    }


def test_user_alias_and_braze_id_objects(make_client: MakeClient) -> None:
    script = Script(ok(), ok())
    client = make_client(script)
    client.track_attributes(
        track_batch(
            ("a1",),
            identifier="user_alias",
            alias_label="kubit_anon",
            action="remove",
            update_existing_only=True,
        )
    )
    client.track_attributes(track_batch(("b1",), identifier="braze_id"))
    assert script.bodies[0]["attributes"] == [
        {
            "user_alias": {"alias_name": "a1", "alias_label": "kubit_anon"},
            "_update_existing_only": True,
            "lytics_segments": {"remove": ["churn-risk"]},
        }
    ]
    assert script.bodies[1]["attributes"] == [
        {
            "braze_id": "b1",
            "_update_existing_only": False,
            "lytics_segments": {"add": ["churn-risk"]},
        }
    ]


def test_partial_errors_fail_exactly_the_indexed_ids_without_retry(make_client: MakeClient) -> None:
    body = {
        "message": "success",
        "attributes_processed": 2,
        "errors": [
            {"type": "'external_id' is invalid", "input_array": "attributes", "index": 2},
            {"type": "something else", "input_array": "attributes", "index": 0},
        ],
    }
    script = Script(ok(body))
    result = make_client(script).track_attributes(track_batch(("u1", "u2", "u3", "u4")))
    assert result.acknowledged == ("u2", "u4")
    assert result.failed == (("u1", "something else"), ("u3", "'external_id' is invalid"))
    assert result.error is None
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "x", "input_array": "attributes", "index": 9},
        {"type": "x", "input_array": "events", "index": 0},
        {"type": "x"},
        "garbage",
    ],
)
def test_unattributable_partial_error_fails_the_whole_batch(
    make_client: MakeClient, entry: object
) -> None:
    script = Script(ok({"message": "success", "errors": [entry]}))
    result = make_client(script).track_attributes(track_batch(("u1", "u2")))
    assert result.acknowledged == ()
    assert [i for i, _ in result.failed] == ["u1", "u2"]


NGINX = b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head></html>"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=NGINX, headers={"content-type": "text/html"}),
        httpx.Response(202, content=b"queued"),
        httpx.Response(204),
        httpx.Response(200, content=b'{"ok": true}', headers={"content-type": "application/json"}),
        httpx.Response(200, content=b'{"message": "success", "attributes_processed": "3"}'),
    ],
)
def test_a_2xx_that_is_not_brazes_acknowledges_nothing(
    make_client: MakeClient, response: httpx.Response
) -> None:
    result = make_client(Script(response)).track_attributes(track_batch())
    assert result.acknowledged == ()
    assert [i for i, _ in result.failed] == ["u1", "u2", "u3"]
    error = result.error
    assert isinstance(error, BrazeRequestError) and error.aborts_run
    assert "POST /users/track" in str(error) and str(response.status_code) in str(error)
    assert "nothing of this request was recorded" in str(error)


def test_not_acknowledged_names_content_type_and_masked_first_bytes(
    make_client: MakeClient,
) -> None:
    page = b"<html>\x00 key rest-key-123 " + b"x" * 5000
    response = httpx.Response(200, content=page, headers={"content-type": "text/html; charset=x"})
    error = make_client(Script(response)).track_attributes(track_batch()).error
    message = str(error)
    assert "200 text/html" in message and "<html>" in message
    assert "rest-key-123" not in message and "\x00" not in message
    assert len(message) < 400


def test_cohort_import_and_export_need_brazes_acknowledgement(make_client: MakeClient) -> None:
    html = httpx.Response(200, content=NGINX, headers={"content-type": "text/html"})
    client = make_client(Script(html, html, html))
    result = client.cohort_import(cohort_batch(), **PARTNER)
    assert result.acknowledged == () and result.error is not None
    assert "secret-789" not in str(result.error)
    with pytest.raises(BrazeRequestError, match="not Braze's acknowledgement"):
        client.create_or_rename_cohort(
            "kubit", "c", "C", created_at=datetime(2024, 5, 1, tzinfo=UTC), **PARTNER
        )
    with pytest.raises(BrazeRequestError, match="not Braze's acknowledgement"):
        client.export_ids(["u1"])


# -- non-retryable 4xx -------------------------------------------------------------------------


def test_400_fails_the_batch_once_and_quotes_braze(
    make_client: MakeClient, clock: FakeClock
) -> None:
    script = Script(fail(400, "Max Input Length Exceeded"))
    result = make_client(script).track_attributes(track_batch())
    assert isinstance(result.error, BrazeBadRequestError)
    assert result.error.status == 400
    assert not result.error.aborts_run
    assert "Max Input Length Exceeded" in str(result.error)
    assert "braze-prod" in str(result.error)
    assert result.acknowledged == ()
    assert [i for i, _ in result.failed] == ["u1", "u2", "u3"]
    assert len(script.requests) == 1 and clock.sleeps == []


def test_401_names_the_env_var_and_permission(make_client: MakeClient) -> None:
    script = Script(fail(401, "Invalid API key"))
    result = make_client(script).track_attributes(track_batch())
    error = result.error
    assert isinstance(error, BrazeAuthError) and error.aborts_run
    assert str(error).startswith(
        "Braze rejected the API key of destination braze-prod (401). Check BRAZE_API_KEY and "
        "that it has the users.track permission"
    )
    assert len(script.requests) == 1


def test_401_without_hint_names_the_destination_key(make_client: MakeClient) -> None:
    script = Script(fail(401))
    result = make_client(script, api_key_hint=None).track_attributes(track_batch())
    assert "the api_key of destination braze-prod" in str(result.error)


def test_403_and_404_are_typed_and_not_retried(make_client: MakeClient) -> None:
    script = Script(fail(403, "Access Denied"), fail(404, "Not Found"), fail(409, "conflict"))
    client = make_client(script)
    denied = client.track_attributes(track_batch()).error
    missing = client.track_attributes(track_batch()).error
    other = client.track_attributes(track_batch()).error
    assert isinstance(denied, BrazePermissionError) and "users.track" in str(denied)
    assert isinstance(missing, BrazeEndpointError) and "https://rest.fra-01.braze.eu" in str(
        missing
    )
    assert isinstance(other, BrazeBadRequestError) and other.status == 409
    assert len(script.requests) == 3


# -- retryable ---------------------------------------------------------------------------------


def test_5xx_then_success_backs_off_with_full_jitter(
    make_client: MakeClient, clock: FakeClock
) -> None:
    script = Script(fail(500), fail(502), fail(503), fail(504), ok())
    result = make_client(script, backoff_base=0.5).track_attributes(track_batch())
    assert result.acknowledged == ("u1", "u2", "u3")
    assert len(script.requests) == 5
    assert len(clock.sleeps) == 4
    for n, slept in enumerate(clock.sleeps):
        assert 0 <= slept <= 0.5 * 2**n


def test_423_is_retried(make_client: MakeClient) -> None:
    script = Script(fail(423, "locked"), ok())
    result = make_client(script).cohort_import(cohort_batch(), **PARTNER)
    assert result.acknowledged == ("u1", "u2") and len(script.requests) == 2


def test_429_waits_for_retry_after(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(fail(429, headers={"Retry-After": "2"}), ok())
    result = make_client(script).track_attributes(track_batch())
    assert result.error is None
    assert clock.sleeps == [2.0]


def test_429_http_date_retry_after(make_client: MakeClient, clock: FakeClock) -> None:
    when = datetime.fromtimestamp(WALL_EPOCH + 4, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    script = Script(fail(429, headers={"retry-after": when}), ok())
    make_client(script).track_attributes(track_batch())
    assert clock.sleeps == [pytest.approx(4.0)]


def test_429_waits_until_reset_plus_jitter(make_client: MakeClient, clock: FakeClock) -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(WALL_EPOCH) + 3)}
    script = Script(fail(429, headers=headers), ok())
    make_client(script).track_attributes(track_batch())
    assert len(clock.sleeps) == 1
    assert 3.0 <= clock.sleeps[0] <= 3.25


def test_429_without_headers_backs_off(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(fail(429), fail(429), ok())
    make_client(script, backoff_base=1.0).track_attributes(track_batch())
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 1.0 and 0 <= clock.sleeps[1] <= 2.0


def test_429_holds_every_sender_of_the_client(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(fail(429, headers={"Retry-After": "3"}), ok())
    client = make_client(script, max_attempts=1)
    first = client.track_attributes(track_batch())
    assert isinstance(first.error, BrazeRetriesExhausted) and clock.sleeps == []
    # Another batch (as from another worker thread) waits out the same window first.
    second = client.track_attributes(track_batch())
    assert second.error is None and clock.sleeps == [3.0]


def test_unparsable_rate_headers_are_ignored(make_client: MakeClient, clock: FakeClock) -> None:
    headers = {"X-RateLimit-Remaining": "lots", "X-RateLimit-Reset": "soon", "Retry-After": "?"}
    script = Script(fail(429, headers=headers), ok(headers=headers))
    result = make_client(script, backoff_base=1.0).track_attributes(track_batch())
    assert result.error is None and len(clock.sleeps) == 1 and clock.sleeps[0] <= 1.0


def test_retries_exhausted_after_max_attempts(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(*(fail(503) for _ in range(3)))
    result = make_client(script, max_attempts=3).track_attributes(track_batch())
    error = result.error
    assert isinstance(error, BrazeRetriesExhausted)
    assert "after 3 attempt(s)" in str(error) and "HTTP 503" in str(error)
    assert error.status == 503 and not error.aborts_run
    assert result.acknowledged == () and len(result.failed) == 3
    assert len(script.requests) == 3 and len(clock.sleeps) == 2


def test_retries_stop_at_the_time_budget(make_client: MakeClient, clock: FakeClock) -> None:
    script = Script(fail(429, headers={"Retry-After": "600"}))
    result = make_client(script, max_retry_seconds=120).track_attributes(track_batch())
    assert isinstance(result.error, BrazeRetriesExhausted)
    assert len(script.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_timeouts_and_connection_errors_are_retried(
    make_client: MakeClient, clock: FakeClock, exc: Exception
) -> None:
    script = Script(exc, ok())
    result = make_client(script).track_attributes(track_batch())
    assert result.acknowledged == ("u1", "u2", "u3")
    assert len(script.requests) == 2 and len(clock.sleeps) == 1


def test_a_connection_that_never_opens_fails_at_once(make_client: MakeClient) -> None:
    script = Script(httpx.ConnectError("cannot connect (ConnectionRefusedError)"), ok())
    result = make_client(script).track_attributes(track_batch())
    assert isinstance(result.error, BrazeUnreachableError)
    assert len(script.requests) == 1
    assert "connection refused. Nothing was sent." in str(result.error)
    assert "rest_endpoint of destination" in str(result.error)


def test_persistent_timeouts_exhaust(make_client: MakeClient) -> None:
    script = Script(*(httpx.ReadTimeout("timed out") for _ in range(4)))
    result = make_client(script, max_attempts=4).track_attributes(track_batch())
    assert isinstance(result.error, BrazeRetriesExhausted)
    assert "ReadTimeout" in str(result.error) and result.error.status is None


def test_non_network_transport_errors_are_not_retried(make_client: MakeClient) -> None:
    script = Script(httpx.UnsupportedProtocol("no"))
    result = make_client(script).track_attributes(track_batch())
    assert isinstance(result.error, BrazeRequestError)
    assert len(script.requests) == 1


def test_proactive_throttle_when_remaining_is_exhausted(
    make_client: MakeClient, clock: FakeClock
) -> None:
    reset = str(int(WALL_EPOCH) + 3)
    script = Script(ok(headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}), ok())
    client = make_client(script)
    client.track_attributes(track_batch())
    assert clock.sleeps == []
    client.track_attributes(track_batch())
    assert len(clock.sleeps) == 1 and 3.0 <= clock.sleeps[0] <= 3.25


# -- cohort import ------------------------------------------------------------------------------


def test_cohort_import_bodies_and_no_rest_key(make_client: MakeClient) -> None:
    script = Script(ok(), ok(), ok())
    client = make_client(script, cohort_endpoint="https://partners.example.test/")
    adds = client.cohort_import(cohort_batch(("u1", "u2")), **PARTNER)
    client.cohort_import(cohort_batch(("d1",), identifier="device_id", action="remove"), **PARTNER)
    client.cohort_import(
        cohort_batch(("a1",), identifier="user_alias", alias_label="anon"), **PARTNER
    )
    assert adds.acknowledged == ("u1", "u2") and adds.error is None
    assert (
        str(script.requests[0].url) == "https://partners.example.test/partners/kubit/cohorts/users"
    )
    assert all("authorization" not in r.headers for r in script.requests)
    common = {**PARTNER, "cohort_id": "power-users"}
    assert script.bodies[0] == {
        **common,
        "cohort_changes": [{"user_ids": ["u1", "u2"], "should_remove": False}],
    }
    assert script.bodies[1]["cohort_changes"] == [{"device_ids": ["d1"], "should_remove": True}]
    assert script.bodies[2]["cohort_changes"] == [
        {"aliases": [{"alias_name": "a1", "alias_label": "anon"}], "should_remove": False}
    ]


def test_cohort_401_names_partner_credentials(make_client: MakeClient) -> None:
    script = Script(fail(401, "Invalid partner key"))
    result = make_client(script).cohort_import(
        cohort_batch(),
        **PARTNER,
        partner_api_key_hint="KUBIT_PARTNER_KEY",
        client_secret_hint="BRAZE_DATA_IMPORT_KEY",
    )
    message = str(result.error)
    assert isinstance(result.error, BrazeAuthError)
    assert "KUBIT_PARTNER_KEY" in message and "BRAZE_DATA_IMPORT_KEY" in message
    assert "Data Import Key" in message and "'kubit'" in message


def test_create_or_rename_cohort(make_client: MakeClient) -> None:
    script = Script(ok(), fail(400, "name is empty"))
    client = make_client(script)
    created = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
    client.create_or_rename_cohort(
        "kubit", "power-users", "Power users", created_at=created, **PARTNER
    )
    assert str(script.requests[0].url).endswith("/partners/kubit/cohorts")
    assert script.bodies[0] == {
        **PARTNER,
        "cohort_id": "power-users",
        "name": "Power users",
        "created_at": "2024-05-01T06:00:00+00:00",
    }
    with pytest.raises(BrazeBadRequestError, match="name is empty"):
        client.create_or_rename_cohort("kubit", "c", "C", created_at=created, **PARTNER)


# -- export -------------------------------------------------------------------------------------


def test_export_chunks_by_50_and_merges(make_client: MakeClient) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        import orjson

        body = orjson.loads(request.content)
        ids = body.get("external_ids", [])
        users = [{"external_id": i} for i in ids if not i.endswith("x")]
        invalid = [i for i in ids if i.endswith("x")]
        return ok({"message": "success", "users": users, "invalid_user_ids": invalid})

    ids = [f"u{n}" for n in range(100)] + ["gone-x"] * 20
    script = Script(*(reply for _ in range(4)))
    aliases = [{"alias_name": "a", "alias_label": "l"}]
    result = make_client(script).export_ids(ids, aliases, fields_to_export=["external_id"])
    sizes = [len(b.get("external_ids", b.get("user_aliases", []))) for b in script.bodies]
    assert sizes == [50, 50, 20, 1]
    assert all(b["fields_to_export"] == ["external_id"] for b in script.bodies)
    assert script.bodies[3]["user_aliases"] == aliases
    assert len(result.users) == 100 and result.invalid_user_ids == ("gone-x",) * 20
    assert str(script.requests[0].url).endswith("/users/export/ids")


def test_export_errors_raise(make_client: MakeClient) -> None:
    with pytest.raises(BrazePermissionError, match=r"users\.export\.ids"):
        make_client(Script(fail(403))).export_ids(["u1"])


# -- misuse -------------------------------------------------------------------------------------


def test_oversized_batches_are_refused_before_sending(make_client: MakeClient) -> None:
    script = Script()
    client = make_client(script, max_objects_per_request=2)
    with pytest.raises(ValueError):
        client.track_attributes(track_batch())
    with pytest.raises(ValueError):
        client.cohort_import(cohort_batch(tuple(f"u{n}" for n in range(1001))), **PARTNER)
    assert script.requests == []


def test_empty_batch_sends_nothing(make_client: MakeClient) -> None:
    script = Script()
    assert make_client(script).track_attributes(track_batch(())).acknowledged == ()
    assert script.requests == []


def test_bad_endpoint_is_a_clear_error() -> None:
    with pytest.raises(BrazeError, match="not an http"):
        BrazeClient("rest.fra-01.braze.eu", "k", destination_id="d")


def test_rate_limit_budget_wording_says_what_ran_out_and_what_to_change(
    make_client: MakeClient,
) -> None:
    script = Script(ok(), ok(), ok())
    client = make_client(script, requests_per_second=0.001, max_retry_seconds=5)
    results = [client.track_attributes(track_batch((f"u{n}",))) for n in range(3)]
    errors = [r.error for r in results if r.error is not None]
    assert errors, "a slot every 1000 s must exhaust a 5 s budget"
    message = f"{errors[0]} {errors[0].hint}"
    assert "0 attempt(s)" not in message
    assert "ran out of its retry budget" in message and "rate limited" in message
    assert "requests_per_second of destination braze-prod" in message
    assert "retry budget" in errors[0].hint  # type: ignore[operator]
