"""The /_sandbox/ admin endpoints, seeding shapes, users_file and state_file persistence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from cohortops.sandbox import SandboxError, SandboxServer, serve_in_thread
from cohortops.sandbox.testing import cohort_body, make_config

from .conftest import StartSandbox
from .helpers import user


def test_state_lists_users_and_cohorts(sandbox: SandboxServer, client: httpx.Client) -> None:
    seeded = client.post(
        "/_sandbox/users",
        json=[
            {
                "external_id": "u1",
                "user_alias": {"alias_name": "n1", "alias_label": "crm"},
                "device_id": "d1",
                "attributes": {"segs": ["a"]},
            },
            {"device_id": "d2"},
        ],
    )
    assert seeded.json() == {"message": "success", "seeded": 2}
    client.post(
        "/partners/kubit/cohorts",
        json={**cohort_body("c1"), "name": "C1", "created_at": "2024-05-01T00:00:00Z"},
    )
    client.post("/partners/kubit/cohorts/users", json=cohort_body("c1", user_ids=["u1"]))
    state = client.get("/_sandbox/state").json()
    assert state == sandbox.state()
    u1 = user(sandbox, "u1")
    assert u1 == {
        "braze_id": u1["braze_id"],
        "external_id": "u1",
        "user_aliases": [{"alias_name": "n1", "alias_label": "crm"}],
        "device_ids": ["d1"],
        "custom_attributes": {"segs": ["a"]},
    }
    assert len(u1["braze_id"]) == 24
    (cohort,) = state["cohorts"]
    assert (cohort["name"], cohort["members"], cohort["member_external_ids"]) == (
        "C1",
        [u1["braze_id"]],
        ["u1"],
    )
    light = client.get("/_sandbox/state", params={"users": "0"}).json()
    assert (light["users"], light["user_count"]) == ([], 2)


def test_braze_ids_are_deterministic_from_the_seed(start_sandbox: StartSandbox) -> None:
    ids = []
    for seed in (1, 1, 2):
        server = start_sandbox(users=["a", "b"], seed=seed)
        ids.append([u["braze_id"] for u in server.state()["users"]])
    assert ids[0] == ids[1] != ids[2]
    assert len(set(ids[0])) == 2


def test_seed_shapes_including_a_compact_range(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    count = sandbox.seed_users(
        {
            "external_ids_range": {"prefix": "user_", "start": 5, "count": 3, "width": 4},
            "external_ids": ["x"],
            "users": [{"email": "e@example.com"}],
        }
    )
    assert count == 5
    ids = sorted(u.get("external_id", "") for u in sandbox.state()["users"])
    assert ids == ["", "user_0005", "user_0006", "user_0007", "x"]
    assert sandbox.seed_users({"external_ids": ["x", "y"]}) == 1  # existing ids are left alone
    for bad in (
        [{"plan": "no identifier"}],
        {"external_ids_range": {"count": -1}},
        {"bogus": 1},
        5,
    ):
        assert client.post("/_sandbox/users", json=bad).status_code == 400
        with pytest.raises(SandboxError):
            sandbox.seed_users(bad)


def test_bulk_seeded_users_behave_like_any_other(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users({"external_ids_range": {"prefix": "user_", "count": 100_000, "width": 9}})
    assert sandbox.counters()["user_count"] == 100_000
    body = client.post(
        "/users/export/ids",
        json={
            "external_ids": ["user_000099999", "user_000100000"],
            "fields_to_export": ["external_id", "braze_id"],
        },
    ).json()
    assert body["invalid_user_ids"] == ["user_000100000"]
    assert body["users"][0]["external_id"] == "user_000099999"
    client.post(
        "/users/track",
        json={"attributes": [{"external_id": "user_000000007", "segs": {"add": ["a"]}}]},
    )
    client.post("/users/delete", json={"external_ids": ["user_000000008"]})
    state = sandbox.state()
    assert state["user_count"] == 99_999
    assert state["users"][7]["custom_attributes"] == {"segs": ["a"]}
    assert state["users"][0] == {
        "braze_id": body["users"][0]["braze_id"][:8] + "0000000000000001",
        "external_id": "user_000000000",
        "user_aliases": [],
        "device_ids": [],
        "custom_attributes": {},
    }
    sandbox.reset()


def test_reset_empties_model_counters_and_faults(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(["u1"])
    sandbox.set_faults(fault_rate=1.0)
    client.post("/users/track", json={"attributes": [{"external_id": "u1"}]})
    assert client.post("/_sandbox/reset").status_code == 200
    assert sandbox.state()["user_count"] == 0
    assert sandbox.counters()["requests_total"] == 0
    assert client.get("/_sandbox/faults").json()["fault_rate"] == 0.0


def test_counters_by_endpoint_and_status(
    sandbox: SandboxServer, client: httpx.Client, connect: Callable[..., httpx.Client]
) -> None:
    client.post("/users/track", json={"attributes": [{"external_id": "u1", "p": 1}]})
    client.post("/users/track", json={"attributes": []})
    connect(sandbox, key="bad").post("/users/track", json={})
    client.post("/partners/kubit/cohorts/users", json=cohort_body("nope"))
    counters = client.get("/_sandbox/counters").json()
    assert counters["requests"] == {
        "/partners/{partner}/cohorts/users": {"400": 1},
        "/users/track": {"201": 1, "400": 1, "401": 1},
    }
    assert counters["requests_total"] == 4
    assert counters["user_count"] == 1


def test_admin_routes_are_sandbox_only_and_unknown_routes_404(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    assert client.get("/_sandbox/health").json()["message"] == "ok"
    assert client.get("/users/nonexistent").status_code == 404
    assert client.post("/partners/kubit/unknown").status_code == 404


def test_users_file_seeds_at_start_and_on_reset(
    tmp_path: Path, start_sandbox: StartSandbox
) -> None:
    users_file = tmp_path / "users.jsonl"
    users_file.write_text(
        'plain-id\n{"external_id": "rec", "attributes": {"segs": ["a"]}}\n\n{"device_id": "d9"}\n'
    )
    server = start_sandbox(users_file=users_file)
    assert server.state()["user_count"] == 3
    assert user(server, "rec")["custom_attributes"] == {"segs": ["a"]}
    server.seed_users(["extra"])
    server.reset()
    assert server.state()["user_count"] == 3
    json_file = tmp_path / "users.json"
    json_file.write_bytes(orjson.dumps({"external_ids_range": {"prefix": "u", "count": 10}}))
    assert start_sandbox(users_file=json_file).state()["user_count"] == 10


def test_bad_users_file_fails_to_start_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "users.jsonl"
    bad.write_text('{"external_id": "ok"}\n{"broken": \n')
    with pytest.raises(SandboxError, match=r"users.jsonl:2"):
        serve_in_thread(make_config(users_file=bad))
    with pytest.raises(SandboxError, match="Cannot read"):
        serve_in_thread(make_config(users_file=tmp_path / "missing.jsonl"))


def test_state_file_saved_on_request_and_on_stop_then_loaded(
    tmp_path: Path, connect: Callable[..., httpx.Client]
) -> None:
    state_file = tmp_path / "sub" / "sandbox.json"
    first = serve_in_thread(make_config(state_file=state_file, seed=4))
    try:
        client = connect(first)
        first.seed_users([{"external_id": "u1", "device_id": "d1"}])
        client.post(
            "/users/track", json={"attributes": [{"external_id": "u1", "segs": {"add": ["a"]}}]}
        )
        client.post(
            "/partners/kubit/cohorts",
            json={**cohort_body("c1"), "name": "C1", "created_at": "2024-05-01T00:00:00Z"},
        )
        client.post("/partners/kubit/cohorts/users", json=cohort_body("c1", user_ids=["u1"]))
        saved = client.post("/_sandbox/save")
        assert saved.status_code == 200
        assert state_file.exists()
        client.post("/users/track", json={"attributes": [{"external_id": "u2", "p": 1}]})
        expected = first.state()
    finally:
        first.stop()
    assert not list(state_file.parent.glob("*.tmp"))
    second = serve_in_thread(make_config(state_file=state_file, seed=4))
    try:
        assert second.state() == expected  # includes u2, written after the explicit save
        client = connect(second)
        client.post("/users/track", json={"attributes": [{"external_id": "u3", "p": 1}]})
        assert user(second, "u3")["braze_id"] not in {u["braze_id"] for u in expected["users"]}
    finally:
        second.stop()


def test_save_without_state_file_is_400(sandbox: SandboxServer, client: httpx.Client) -> None:
    assert client.post("/_sandbox/save").status_code == 400


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text("{not json")
    with pytest.raises(SandboxError, match="Cannot load the sandbox state file"):
        serve_in_thread(make_config(state_file=state_file))
