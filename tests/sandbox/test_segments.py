"""POST /users/export/segment: response shape, archive formats, one export at a time, readiness."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from cohortops.sandbox import SandboxServer
from cohortops.sandbox.testing import CLIENT_SECRET, PARTNER_KEY, ManualClock

from .conftest import StartSandbox

FIELDS = ["external_id", "braze_id"]


def _lines(archive: bytes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if archive[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            for name in zf.namelist():
                out += [orjson.loads(line) for line in zf.read(name).splitlines() if line]
        return out
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive))) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member)
            assert data is not None
            out += [orjson.loads(line) for line in data.read().splitlines() if line]
    return out


def _export(client: httpx.Client, segment_id: str, **extra: Any) -> httpx.Response:
    body = {"segment_id": segment_id, "fields_to_export": FIELDS, **extra}
    return client.post("/users/export/segment", json=body)


def test_attribute_segment_zip_in_files_of_5000(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    holders = [{"external_id": f"u{i}", "attributes": {"segs": ["churn"]}} for i in range(5003)]
    others = [{"external_id": f"x{i}", "attributes": {"segs": ["other"]}} for i in range(10)]
    sandbox.seed_users(holders + others)
    sandbox.define_segment("seg-churn", {"attribute": "segs", "includes": "churn"})
    response = _export(client, "seg-churn")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"message", "object_prefix", "url"}
    assert body["message"] == "success"
    download = client.get(body["url"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        assert len(zf.namelist()) == 2
    users = _lines(download.content)
    assert sorted(u["external_id"] for u in users) == sorted(f"u{i}" for i in range(5003))
    assert all(set(u) == {"external_id", "braze_id"} for u in users)


def test_partner_cohort_segment_gzip(sandbox: SandboxServer, client: httpx.Client) -> None:
    sandbox.seed_users([{"external_id": f"u{i}"} for i in range(5)])
    keys = {"partner_api_key": PARTNER_KEY, "client_secret": CLIENT_SECRET}
    created = {"cohort_id": "c1", "name": "C", "created_at": "2024-05-01T10:00:00+00:00"}
    assert client.post("/partners/kubit/cohorts", json={**keys, **created}).status_code == 201
    change = {"user_ids": ["u1", "u3"], "should_remove": False}
    body = {**keys, "cohort_id": "c1", "cohort_changes": [change]}
    assert client.post("/partners/kubit/cohorts/users", json=body).status_code == 201
    sandbox.define_segment("seg-c1", {"partner_cohort": {"partner": "kubit", "cohort_id": "c1"}})
    response = _export(client, "seg-c1", output_format="gzip")
    assert response.status_code == 201
    archive = client.get(response.json()["url"]).content
    assert sorted(u["external_id"] for u in _lines(archive)) == ["u1", "u3"]


def test_not_ready_then_ready_and_one_at_a_time(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client], clock: ManualClock
) -> None:
    server = start_sandbox(segment_export_ready_ms=5000)
    client = connect(server)
    server.define_segment("s", {"attribute": "segs", "includes": "a"})
    first = _export(client, "s")
    assert first.status_code == 201
    assert client.get(first.json()["url"]).status_code == 404
    busy = _export(client, "s")
    assert busy.status_code == 429
    assert "already running" in busy.json()["message"]
    clock.now += 6
    assert client.get(first.json()["url"]).status_code == 200
    assert _export(client, "s").status_code == 201


def test_sink_mode_attribute_segment(
    start_sandbox: StartSandbox, connect: Callable[..., httpx.Client]
) -> None:
    server = start_sandbox(sink=True)
    client = connect(server)
    server.seed_users([{"external_id": "a", "attributes": {"segs": ["v"]}}, {"external_id": "b"}])
    server.define_segment("s", {"attribute": "segs", "includes": "v"})
    response = _export(client, "s")
    assert [u["external_id"] for u in _lines(client.get(response.json()["url"]).content)] == ["a"]


def test_refusals(sandbox: SandboxServer, connect: Callable[..., httpx.Client]) -> None:
    client = connect(sandbox)
    assert _export(client, "missing").status_code == 400
    sandbox.define_segment("s", {"attribute": "segs", "includes": "v"})
    no_fields = client.post("/users/export/segment", json={"segment_id": "s"})
    assert no_fields.status_code == 400
    assert _export(client, "s", output_format="csv").status_code == 400
    assert _export(connect(sandbox, key="wrong"), "s").status_code == 401
    bad = client.post("/_sandbox/segments", json={"segment_id": "z", "filter": {"x": 1}})
    assert bad.status_code == 400
    listed = client.get("/_sandbox/segments").json()["segments"]
    expected = {"segment_id": "s", "name": "s", "filter": {"attribute": "segs", "includes": "v"}}
    assert expected in listed
