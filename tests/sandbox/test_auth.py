"""Bearer auth for the REST endpoints and body auth for the partner cohort endpoints."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from cohortops.sandbox import ALL_PERMISSIONS, SandboxConfig
from cohortops.sandbox.testing import CLIENT_SECRET, PARTNER_KEY

from .conftest import StartSandbox

TRACK_BODY = {"attributes": [{"external_id": "u1", "plan": "gold"}]}
REST_CALLS = [
    ("/users/track", "users.track", TRACK_BODY),
    (
        "/users/export/ids",
        "users.export.ids",
        {"external_ids": ["u1"], "fields_to_export": ["external_id"]},
    ),
    (
        "/users/alias/new",
        "users.alias.new",
        {"user_aliases": [{"alias_name": "a", "alias_label": "l"}]},
    ),
    ("/users/delete", "users.delete", {"external_ids": ["u1"]}),
]


def test_missing_authorization_header_is_401(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox()
    response = connect(server, key=None).post("/users/track", json=TRACK_BODY)
    assert response.status_code == 401
    assert "message" in response.json()
    assert server.state()["user_count"] == 0


def test_unknown_key_is_401_and_not_echoed(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox()
    response = connect(server, key="leaked-looking-secret").post("/users/track", json=TRACK_BODY)
    assert response.status_code == 401
    assert "leaked-looking-secret" not in response.text
    assert server.state()["user_count"] == 0


def test_non_bearer_scheme_is_401(start_sandbox: StartSandbox) -> None:
    server = start_sandbox()
    with httpx.Client(base_url=server.base_url) as client:
        response = client.post(
            "/users/track", json=TRACK_BODY, headers={"Authorization": "Basic sandbox-key"}
        )
    assert response.status_code == 401


@pytest.mark.parametrize(("path", "permission", "body"), REST_CALLS)
def test_missing_permission_is_403_and_granted_permission_passes(
    start_sandbox: StartSandbox,
    connect: Callable[..., httpx.Client],
    path: str,
    permission: str,
    body: dict[str, object],
) -> None:
    keys = {"limited": ALL_PERMISSIONS - {permission}, "exact": frozenset({permission})}
    server = start_sandbox(api_keys=keys, users=["u1"])
    refused = connect(server, key="limited").post(path, json=body)
    assert refused.status_code == 403
    assert permission in refused.json()["message"]
    allowed = connect(server, key="exact").post(path, json=body)
    assert 200 <= allowed.status_code < 300, allowed.text


def partner_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "partner_api_key": PARTNER_KEY,
        "client_secret": CLIENT_SECRET,
        "cohort_id": "c1",
        "name": "Cohort one",
        "created_at": "2024-05-01T10:00:00Z",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    "overrides",
    [
        {"partner_api_key": "wrong-partner-key"},
        {"client_secret": "wrong-client-secret"},
        {"partner_api_key": None},
        {"client_secret": None},
    ],
)
def test_bad_partner_body_keys_are_401(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client], overrides: dict[str, object]
) -> None:
    server = start_sandbox()
    client = connect(server, key=None)
    for path in ("/partners/kubit/cohorts", "/partners/kubit/cohorts/users"):
        response = client.post(path, json=partner_body(**overrides, cohort_changes=[]))
        assert response.status_code == 401, path
        assert "wrong-" not in response.text
    assert server.state()["cohorts"] == []


def test_partner_slug_must_be_enabled(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(partners=frozenset({"kubit"}))
    client = connect(server, key=None)
    assert client.post("/partners/amplitude/cohorts", json=partner_body()).status_code == 401
    assert client.post("/partners/kubit/cohorts", json=partner_body()).status_code == 201


def test_partner_endpoints_need_no_bearer_header(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(api_keys={})
    response = connect(server, key=None).post("/partners/kubit/cohorts", json=partner_body())
    assert response.status_code == 201
    assert response.json() == {"message": "success"}


def test_config_repr_hides_secrets() -> None:
    config = SandboxConfig(
        api_keys={"rest-secret": ALL_PERMISSIONS},
        partner_api_keys=frozenset({"partner-secret"}),
        client_secrets=frozenset({"client-secret-value"}),
    )
    text = repr(config)
    for secret in ("rest-secret", "partner-secret", "client-secret-value"):
        assert secret not in text
