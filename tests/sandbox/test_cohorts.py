"""Partner Cohort Import API: create/rename, membership deltas, existing users only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cohortops.sandbox import SandboxServer
from cohortops.sandbox.testing import CLIENT_SECRET, PARTNER_KEY, cohort_body

SEED = [
    {"external_id": "u1", "device_id": "dev-identified"},
    {"external_id": "u2"},
    {"user_alias": {"alias_name": "anon-7", "alias_label": "kubit_anon"}},
    {"device_id": "dev-anon"},
]


def create(
    client: httpx.Client, cohort_id: str = "c1", name: str = "Cohort one", **extra: Any
) -> httpx.Response:
    body = {
        "partner_api_key": PARTNER_KEY,
        "client_secret": CLIENT_SECRET,
        "cohort_id": cohort_id,
        "name": name,
        "created_at": "2024-05-01T10:00:00+00:00",
        **extra,
    }
    return client.post("/partners/kubit/cohorts", json=body)


def members(server: SandboxServer, cohort_id: str = "c1") -> dict[str, Any]:
    (cohort,) = [c for c in server.state()["cohorts"] if c["cohort_id"] == cohort_id]
    return cohort


def test_create_then_rename(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.seed_users(SEED)
    response = create(client)
    assert response.status_code == 201
    assert response.json() == {"message": "success"}
    client.post("/partners/kubit/cohorts/users", json=cohort_body("c1", user_ids=["u1"]))
    assert create(client, name="Renamed").status_code == 201
    cohort = members(sandbox)
    assert (cohort["partner"], cohort["name"], cohort["member_external_ids"]) == (
        "kubit",
        "Renamed",
        ["u1"],
    )
    assert cohort["created_at"] == "2024-05-01T10:00:00+00:00"


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"created_at": "yesterday"},
        {"created_at": 1714557600},
        {"cohort_id": ""},
        {"cohort_id": 17},
    ],
)
def test_create_validation_is_400(
    sandbox: SandboxServer, client: httpx.Client, overrides: dict[str, Any]
) -> None:
    body = {
        "partner_api_key": PARTNER_KEY,
        "client_secret": CLIENT_SECRET,
        "cohort_id": "c1",
        "name": "Cohort one",
        "created_at": "2024-05-01T10:00:00Z",
        **overrides,
    }
    response = client.post("/partners/kubit/cohorts", json=body)
    assert response.status_code == 400
    assert response.json()["message"]
    assert sandbox.state()["cohorts"] == []


def test_changes_to_unknown_cohort_are_400(sandbox: SandboxServer, client: httpx.Client) -> None:
    response = client.post(
        "/partners/kubit/cohorts/users", json=cohort_body("never-created", user_ids=["u1"])
    )
    assert response.status_code == 400
    create(client)
    other_partner = client.post(
        "/partners/amplitude/cohorts/users", json=cohort_body("c1", user_ids=["u1"])
    )
    assert other_partner.status_code == 400


@pytest.mark.parametrize(
    "changes",
    [
        None,
        {"user_ids": ["u1"]},
        [["u1"]],
        [{"user_ids": "u1"}],
        [{"user_ids": [1, 2]}],
        [{"aliases": [{"alias_name": "a"}]}],
        [{"aliases": ["a"]}],
        [{"user_ids": ["u1"], "should_remove": "yes"}],
    ],
)
def test_malformed_changes_are_400(
    sandbox: SandboxServer, client: httpx.Client, changes: Any
) -> None:
    sandbox.seed_users(SEED)
    create(client)
    body = cohort_body("c1")
    body["cohort_changes"] = changes
    assert client.post("/partners/kubit/cohorts/users", json=body).status_code == 400
    assert members(sandbox)["member_count"] == 0


def test_more_than_1000_ids_combined_is_400(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.seed_users({"external_ids": [f"u{i}" for i in range(1000)]})
    create(client)
    ids = [f"u{i}" for i in range(999)]
    body = cohort_body(
        "c1", user_ids=ids, device_ids=["d1"], aliases=[{"alias_name": "n", "alias_label": "l"}]
    )
    assert client.post("/partners/kubit/cohorts/users", json=body).status_code == 400
    assert members(sandbox)["member_count"] == 0
    ok = cohort_body("c1", user_ids=ids, device_ids=["d1"])
    assert client.post("/partners/kubit/cohorts/users", json=ok).status_code == 201
    assert members(sandbox)["member_count"] == 999


def test_only_existing_users_are_added_and_none_created(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(SEED)
    create(client)
    body = cohort_body(
        "c1",
        user_ids=["u1", "u2", "stranger"],
        aliases=[
            {"alias_name": "anon-7", "alias_label": "kubit_anon"},
            {"alias_name": "nobody", "alias_label": "kubit_anon"},
        ],
    )
    response = client.post("/partners/kubit/cohorts/users", json=body)
    assert response.status_code == 201
    assert response.json() == {"message": "success"}
    state = sandbox.state()
    assert state["user_count"] == len(SEED)
    cohort = members(sandbox)
    assert cohort["member_count"] == 3
    assert cohort["member_external_ids"] == ["u1", "u2"]
    counters = sandbox.counters()
    assert (counters["cohort_ids_matched"], counters["cohort_ids_skipped"]) == (3, 2)


def test_device_ids_match_anonymous_users_only(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(SEED)
    create(client)
    client.post(
        "/partners/kubit/cohorts/users",
        json=cohort_body("c1", device_ids=["dev-identified", "dev-anon"]),
    )
    anon_braze_id = next(
        u["braze_id"] for u in sandbox.state()["users"] if u["device_ids"] == ["dev-anon"]
    )
    assert members(sandbox)["members"] == [anon_braze_id]
    # The identified user's device id is ignored on removal too.
    client.post("/partners/kubit/cohorts/users", json=cohort_body("c1", user_ids=["u1"]))
    client.post(
        "/partners/kubit/cohorts/users",
        json=cohort_body("c1", device_ids=["dev-identified"], should_remove=True),
    )
    assert members(sandbox)["member_external_ids"] == ["u1"]


def test_should_remove_removes_and_mixed_changes_apply_in_order(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(SEED)
    create(client)
    body = cohort_body("c1", user_ids=["u1", "u2"])
    body["cohort_changes"].append({"user_ids": ["u1"], "should_remove": True})
    assert client.post("/partners/kubit/cohorts/users", json=body).status_code == 201
    assert members(sandbox)["member_external_ids"] == ["u2"]
    client.post(
        "/partners/kubit/cohorts/users",
        json=cohort_body("c1", user_ids=["u2", "stranger"], should_remove=True),
    )
    assert members(sandbox)["member_count"] == 0


def test_cohorts_are_separate_per_partner_and_id(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(SEED)
    create(client, "c1")
    create(client, "c2", name="Two")
    client.post("/partners/kubit/cohorts/users", json=cohort_body("c2", user_ids=["u2"]))
    assert members(sandbox, "c1")["member_count"] == 0
    assert members(sandbox, "c2")["member_external_ids"] == ["u2"]
