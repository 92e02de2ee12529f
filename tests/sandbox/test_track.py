"""POST /users/track: identifiers, array semantics, limits, partial errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from cohortops.sandbox import SandboxServer

from .conftest import StartSandbox
from .helpers import user


def track(client: httpx.Client, *objects: object, **arrays: list[Any]) -> httpx.Response:
    body: dict[str, Any] = dict(arrays)
    if objects:
        body["attributes"] = list(objects)
    return client.post("/users/track", json=body)


def segments(server: SandboxServer, external_id: str) -> Any:
    return user(server, external_id)["custom_attributes"].get("segs")


def test_success_body_counts_processed_objects(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = track(
        client, {"external_id": "a", "plan": "gold"}, {"external_id": "b", "plan": "free"}
    )
    assert response.status_code == 201
    assert response.json() == {"message": "success", "attributes_processed": 2}


def test_external_id_creates_missing_user_by_default(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    assert track(client, {"external_id": "new-user", "plan": "gold"}).status_code == 201
    assert user(sandbox, "new-user")["custom_attributes"] == {"plan": "gold"}


def test_update_existing_only_drops_unknown_external_id(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = track(
        client, {"external_id": "ghost", "_update_existing_only": True, "plan": "gold"}
    )
    assert response.status_code == 201
    assert response.json() == {"message": "success", "attributes_processed": 1}
    assert sandbox.state()["user_count"] == 0


def test_user_alias_defaults_to_existing_only(sandbox: SandboxServer, client: httpx.Client) -> None:
    alias = {"alias_name": "dev-1", "alias_label": "kubit_anon"}
    assert track(client, {"user_alias": alias, "plan": "gold"}).status_code == 201
    assert sandbox.state()["user_count"] == 0
    track(client, {"user_alias": alias, "_update_existing_only": False, "plan": "gold"})
    (created,) = sandbox.state()["users"]
    assert created["user_aliases"] == [alias]
    assert "external_id" not in created
    track(client, {"user_alias": alias, "plan": "silver"})
    assert sandbox.state()["users"][0]["custom_attributes"] == {"plan": "silver"}


def test_braze_id_updates_existing_and_never_creates(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(["a"])
    braze_id = user(sandbox, "a")["braze_id"]
    track(client, {"braze_id": braze_id, "plan": "gold"})
    track(client, {"braze_id": "0" * 24, "_update_existing_only": False, "plan": "gold"})
    assert user(sandbox, "a")["custom_attributes"] == {"plan": "gold"}
    assert sandbox.state()["user_count"] == 1


def test_email_identifier_creates_email_profile_and_email_beside_id_is_an_attribute(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    track(client, {"email": "x@example.com", "plan": "gold"})
    (created,) = sandbox.state()["users"]
    assert created["email"] == "x@example.com"
    assert track(client, {"external_id": "a", "email": "a@example.com"}).status_code == 201
    assert user(sandbox, "a")["email"] == "a@example.com"


def test_array_set_replaces_and_collapses_duplicates(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    track(client, {"external_id": "a", "segs": ["x", "y", "x", "z"]})
    assert segments(sandbox, "a") == ["x", "y", "z"]
    track(client, {"external_id": "a", "segs": ["q"]})
    assert segments(sandbox, "a") == ["q"]


def test_array_add_appends_and_moves_existing_value_to_end(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    track(client, {"external_id": "a", "segs": {"add": ["x", "y", "z"]}})
    track(client, {"external_id": "a", "segs": {"add": ["x"]}})
    assert segments(sandbox, "a") == ["y", "z", "x"]


def test_array_remove(sandbox: SandboxServer, client: httpx.Client) -> None:
    track(client, {"external_id": "a", "segs": ["x", "y", "z"]})
    track(client, {"external_id": "a", "segs": {"remove": ["y", "absent"]}})
    assert segments(sandbox, "a") == ["x", "z"]


def test_add_and_remove_in_one_object(sandbox: SandboxServer, client: httpx.Client) -> None:
    track(client, {"external_id": "a", "segs": ["x", "y"]})
    track(client, {"external_id": "a", "segs": {"add": ["z"], "remove": ["x"]}})
    assert segments(sandbox, "a") == ["y", "z"]


def test_overflow_silently_drops_oldest_at_default_25(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    values = [f"c{i:02d}" for i in range(25)]
    track(client, {"external_id": "a", "segs": {"add": values}})
    response = track(client, {"external_id": "a", "segs": {"add": ["c25", "c26"]}})
    assert response.status_code == 201
    assert "errors" not in response.json()
    assert segments(sandbox, "a") == [*values[2:], "c25", "c26"]


def test_overflow_limit_is_configurable_per_attribute(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(max_array_length=4, array_length_overrides={"segs": 2})
    client = connect(server)
    track(
        client,
        {
            "external_id": "a",
            "segs": {"add": ["x", "y", "z"]},
            "other": {"add": ["1", "2", "3", "4", "5"]},
        },
    )
    assert user(server, "a")["custom_attributes"] == {
        "segs": ["y", "z"],
        "other": ["2", "3", "4", "5"],
    }


def test_strings_over_255_are_accepted_but_not_applied(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    track(client, {"external_id": "a", "plan": "gold", "segs": ["x"]})
    long = "v" * 256
    response = track(
        client, {"external_id": "a", "plan": long, "segs": {"add": [long]}, "ok": "y" * 255}
    )
    assert response.status_code == 201
    assert "errors" not in response.json()
    assert user(sandbox, "a")["custom_attributes"] == {
        "plan": "gold",
        "segs": ["x"],
        "ok": "y" * 255,
    }


def test_null_deletes_an_attribute(sandbox: SandboxServer, client: httpx.Client) -> None:
    track(client, {"external_id": "a", "plan": "gold", "segs": ["x"]})
    track(client, {"external_id": "a", "plan": None})
    assert user(sandbox, "a")["custom_attributes"] == {"segs": ["x"]}


def test_more_than_75_objects_combined_is_400_and_nothing_applied(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    attributes = [{"external_id": f"u{i}", "plan": "gold"} for i in range(50)]
    events = [
        {"external_id": f"u{i}", "name": "e", "time": "2024-01-01T00:00:00Z"} for i in range(26)
    ]
    response = track(client, *attributes, events=events)
    assert response.status_code == 400
    assert response.json()["message"] == "Max Input Length Exceeded"
    assert sandbox.state()["user_count"] == 0
    response = track(client, *attributes, events=events[:25])
    assert response.status_code == 201
    assert response.json() == {
        "message": "success",
        "attributes_processed": 50,
        "events_processed": 25,
    }


def test_object_limit_is_configurable(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(max_objects_per_request=50)
    client = connect(server)
    too_many = [{"external_id": f"u{i}", "plan": "gold"} for i in range(51)]
    assert track(client, *too_many).status_code == 400
    assert track(client, *too_many[:50]).status_code == 201


def test_invalid_objects_are_partial_errors_and_the_rest_applies(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = track(
        client,
        {"external_id": "ok-1", "plan": "gold"},
        {"plan": "no identifier"},
        {
            "external_id": "x",
            "user_alias": {"alias_name": "n", "alias_label": "l"},
            "plan": "two ids",
        },
        {"external_id": 12345, "plan": "bad id type"},
        {"external_id": "bad-op", "segs": {"add": "not-a-list"}},
        {"external_id": "bad-flag", "_update_existing_only": "yes"},
        "not an object",
        {"external_id": "ok-2", "plan": "free"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "success"
    assert body["attributes_processed"] == 2
    assert [(e["input_array"], e["index"]) for e in body["errors"]] == [
        ("attributes", i) for i in range(1, 7)
    ]
    assert all(isinstance(e["type"], str) and e["type"] for e in body["errors"])
    assert sorted(u["external_id"] for u in sandbox.state()["users"]) == ["ok-1", "ok-2"]


def test_all_invalid_objects_is_400(sandbox: SandboxServer, client: httpx.Client) -> None:
    response = track(client, {"plan": "no id"}, {"external_id": "", "plan": "empty id"})
    assert response.status_code == 400
    assert [e["index"] for e in response.json()["errors"]] == [0, 1]
    assert sandbox.state()["user_count"] == 0


def test_empty_or_malformed_body_is_400(sandbox: SandboxServer, client: httpx.Client) -> None:
    assert client.post("/users/track", json={}).status_code == 400
    assert client.post("/users/track", json={"attributes": []}).status_code == 400
    assert client.post("/users/track", json={"attributes": {"external_id": "a"}}).status_code == 400
    assert client.post("/users/track", json=[1, 2]).status_code == 400
    response = client.post(
        "/users/track", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "message" in response.json()


def test_counters_track_objects_and_data_points(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    sandbox.seed_users(["a"])
    track(
        client,
        {"external_id": "a", "segs": {"add": ["x"]}, "plan": "gold"},
        {"external_id": "b", "segs": ["y"]},
    )
    track(
        client,
        {"external_id": "a", "segs": {"add": ["x"]}},
        {"external_id": "zz", "_update_existing_only": True, "p": 1},
    )
    counters = sandbox.counters()
    assert counters["requests"]["/users/track"] == {"201": 2}
    assert counters["objects_per_request"] == {"2": 2}
    assert counters["objects_total"] == 4
    assert counters["data_points"] == 4  # 3 writes, then 1 (dropped unknown user writes nothing)
    assert counters["attribute_changes"] == 3  # re-adding "x" as the newest value changes nothing
    assert counters["users_created"] == 1
    assert counters["objects_dropped_unknown_user"] == 1
