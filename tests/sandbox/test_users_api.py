"""/users/export/ids (existence check, read-after-write lag), /users/alias/new, /users/delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cohortops.sandbox import SandboxServer
from cohortops.sandbox.testing import ManualClock, cohort_body

from .conftest import StartSandbox
from .helpers import user

FIELDS = ["external_id", "user_aliases", "braze_id", "custom_attributes", "email", "devices"]
SEED = [
    {"external_id": "u1", "attributes": {"segs": ["x"]}, "email": "u1@example.com"},
    {"external_id": "u2", "user_alias": {"alias_name": "n2", "alias_label": "crm"}},
    {"device_id": "dev-anon"},
]


def export(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("fields_to_export", FIELDS)
    return client.post("/users/export/ids", json=body)


def test_export_by_external_ids_reports_unknown_ids(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(SEED)
    response = export(client, external_ids=["u1", "nobody"])
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "success"
    assert body["invalid_user_ids"] == ["nobody"]
    (found,) = body["users"]
    assert found["external_id"] == "u1"
    assert found["braze_id"] == user(sandbox, "u1")["braze_id"]
    assert found["custom_attributes"] == {"segs": ["x"]}
    assert found["user_aliases"] == []
    assert found["email"] == "u1@example.com"


def test_export_by_each_other_identifier(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.seed_users(SEED)
    u2 = user(sandbox, "u2")
    by_alias = export(client, user_aliases=[{"alias_name": "n2", "alias_label": "crm"}]).json()
    assert [u["external_id"] for u in by_alias["users"]] == ["u2"]
    assert by_alias["users"][0]["user_aliases"] == [{"alias_name": "n2", "alias_label": "crm"}]
    assert export(client, braze_id=u2["braze_id"]).json()["users"][0]["external_id"] == "u2"
    assert export(client, email_address="u1@example.com").json()["users"][0]["external_id"] == "u1"
    by_device = export(client, device_id="dev-anon").json()["users"]
    assert by_device[0]["devices"] == [{"device_id": "dev-anon"}]
    assert export(client, device_id="dev-missing").json() == {
        "message": "success",
        "users": [],
        "invalid_user_ids": ["dev-missing"],
    }


def test_export_returns_only_requested_fields(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.seed_users(SEED)
    (found,) = export(client, external_ids=["u1"], fields_to_export=["external_id"]).json()["users"]
    assert found == {"external_id": "u1"}


@pytest.mark.parametrize(
    "body",
    [
        {"external_ids": [f"u{i}" for i in range(51)], "fields_to_export": FIELDS},
        {
            "user_aliases": [{"alias_name": f"n{i}", "alias_label": "l"} for i in range(51)],
            "fields_to_export": FIELDS,
        },
        {"external_ids": ["u1"]},
        {"external_ids": ["u1"], "fields_to_export": []},
        {"fields_to_export": FIELDS},
        {"external_ids": "u1", "fields_to_export": FIELDS},
    ],
)
def test_export_validation_is_400(
    sandbox: SandboxServer, client: httpx.Client, body: dict[str, Any]
) -> None:
    response = client.post("/users/export/ids", json=body)
    assert response.status_code == 400
    assert response.json()["message"]


def test_export_accepts_exactly_50_ids(sandbox: SandboxServer, client: httpx.Client) -> None:
    body = export(client, external_ids=[f"u{i}" for i in range(50)]).json()
    assert len(body["invalid_user_ids"]) == 50


def test_export_lags_writes_by_the_configured_delay(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client], clock: ManualClock
) -> None:
    server = start_sandbox(
        users=[{"external_id": "old", "attributes": {"plan": "free"}}], export_delay_ms=500
    )
    client = connect(server)
    client.post(
        "/users/track",
        json={
            "attributes": [
                {"external_id": "old", "plan": "gold"},
                {"external_id": "new", "plan": "gold"},
            ]
        },
    )
    body = export(client, external_ids=["old", "new"]).json()
    assert body["invalid_user_ids"] == ["new"]
    assert body["users"][0]["custom_attributes"] == {"plan": "free"}
    clock.advance(0.499)
    assert export(client, external_ids=["new"]).json()["invalid_user_ids"] == ["new"]
    clock.advance(0.002)
    body = export(client, external_ids=["old", "new"]).json()
    assert body["invalid_user_ids"] == []
    assert [u["custom_attributes"] for u in body["users"]] == [{"plan": "gold"}, {"plan": "gold"}]
    # The state dump (not an API) always shows the latest writes.
    assert user(server, "new")["custom_attributes"] == {"plan": "gold"}


def test_alias_new_adds_to_existing_user_or_creates_alias_only_user(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(["u1"])
    response = client.post(
        "/users/alias/new",
        json={
            "user_aliases": [
                {"external_id": "u1", "alias_name": "a1", "alias_label": "crm"},
                {"alias_name": "lonely", "alias_label": "crm"},
                {"external_id": "missing", "alias_name": "a3", "alias_label": "crm"},
            ]
        },
    )
    assert response.status_code == 201
    assert response.json() == {"message": "success", "aliases_processed": 2}
    assert user(sandbox, "u1")["user_aliases"] == [{"alias_name": "a1", "alias_label": "crm"}]
    assert sandbox.state()["user_count"] == 2


def test_alias_new_limit_is_50(sandbox: SandboxServer, client: httpx.Client) -> None:
    aliases = [{"alias_name": f"n{i}", "alias_label": "l"} for i in range(51)]
    assert client.post("/users/alias/new", json={"user_aliases": aliases}).status_code == 400
    assert client.post("/users/alias/new", json={"user_aliases": aliases[:50]}).status_code == 201
    assert sandbox.state()["user_count"] == 50


def test_delete_removes_users_and_their_cohort_memberships(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(SEED)
    client.post(
        "/partners/kubit/cohorts",
        json={**cohort_body("c1"), "name": "C1", "created_at": "2024-05-01"},
    )
    client.post("/partners/kubit/cohorts/users", json=cohort_body("c1", user_ids=["u1", "u2"]))
    response = client.post(
        "/users/delete",
        json={
            "external_ids": ["u1", "nobody"],
            "user_aliases": [{"alias_name": "n2", "alias_label": "crm"}],
        },
    )
    assert response.status_code == 202
    assert response.json() == {"message": "success", "deleted": 2}
    state = sandbox.state()
    assert state["user_count"] == 1
    assert state["cohorts"][0]["member_count"] == 0
    assert export(client, external_ids=["u1"]).json()["invalid_user_ids"] == ["u1"]


def test_delete_limit_is_50(sandbox: SandboxServer, client: httpx.Client) -> None:
    ids = [f"u{i}" for i in range(51)]
    assert client.post("/users/delete", json={"external_ids": ids}).status_code == 400
    assert client.post("/users/delete", json={}).status_code == 400
