"""Sink mode: same auth, limits and counters; membership kept as compact sets."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from cohortops.sandbox.testing import cohort_body

from .conftest import StartSandbox


def test_sink_records_array_membership_and_enforces_limits(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(sink=True, users={"external_ids": ["u1", "u2"]})
    client = connect(server)
    ok = client.post(
        "/users/track",
        json={
            "attributes": [
                {"external_id": "u1", "segs": {"add": ["a", "b"]}},
                {"external_id": "u2", "segs": {"add": ["a"]}},
                {"external_id": "ghost", "_update_existing_only": True, "segs": {"add": ["a"]}},
                {"plan": "no id"},
            ]
        },
    )
    assert ok.status_code == 201
    assert ok.json()["attributes_processed"] == 3
    assert [e["index"] for e in ok.json()["errors"]] == [3]
    client.post(
        "/users/track", json={"attributes": [{"external_id": "u1", "segs": {"remove": ["a"]}}]}
    )
    state = server.state()
    assert state["mode"] == "sink"
    assert state["attribute_members"] == {"segs": {"a": ["u2"], "b": ["u1"]}}
    too_many = [{"external_id": f"n{i}", "segs": {"add": ["a"]}} for i in range(76)]
    assert client.post("/users/track", json={"attributes": too_many}).status_code == 400
    assert (
        connect(server, key="bad")
        .post("/users/track", json={"attributes": too_many[:1]})
        .status_code
        == 401
    )
    counters = server.counters()
    assert counters["data_points"] == 3
    assert counters["requests"]["/users/track"] == {"201": 2, "400": 1, "401": 1}


def test_sink_cohort_import_touches_known_users_only(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(
        sink=True, users=[{"external_id": "u1", "device_id": "d-ident"}, {"device_id": "d-anon"}]
    )
    client = connect(server, key=None)
    client.post(
        "/partners/kubit/cohorts",
        json={**cohort_body("c1"), "name": "C1", "created_at": "2024-05-01T00:00:00Z"},
    )
    body = cohort_body("c1", user_ids=["u1", "stranger"], device_ids=["d-ident", "d-anon"])
    assert client.post("/partners/kubit/cohorts/users", json=body).status_code == 201
    (cohort,) = server.state()["cohorts"]
    assert cohort["members"] == ["device:d-anon", "u1"]
    assert server.state()["user_count"] == 2
    too_many = cohort_body("c1", user_ids=[f"x{i}" for i in range(1001)])
    assert client.post("/partners/kubit/cohorts/users", json=too_many).status_code == 400


def test_sink_export_answers_existence(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(sink=True, users={"external_ids_range": {"prefix": "u", "count": 3}})
    client = connect(server)
    client.post("/users/track", json={"attributes": [{"external_id": "u1", "segs": ["x"]}]})
    body = client.post(
        "/users/export/ids",
        json={
            "external_ids": ["u1", "u9"],
            "fields_to_export": ["external_id", "custom_attributes"],
        },
    ).json()
    assert body["users"] == [{"external_id": "u1", "custom_attributes": {"segs": ["x"]}}]
    assert body["invalid_user_ids"] == ["u9"]
    assert client.post("/users/delete", json={"external_ids": ["u1"]}).json()["deleted"] == 1
    assert server.state()["attribute_members"] == {"segs": {}}
