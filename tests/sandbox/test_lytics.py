"""The sandbox's Lytics API over a real socket: auth, paging, collect, faults."""

from __future__ import annotations

from pathlib import Path

import httpx

from cohortops.sandbox.config import DEFAULT_LYTICS_TOKEN
from cohortops.sandbox.testing import running_sandbox


def test_scan_collect_and_auth() -> None:
    with running_sandbox() as server:
        server.add_lytics_audience({"id": "a1", "slug": "vips", "ids": ["x", "y", "z"]})
        base = f"{server.base_url}/lytics"
        with httpx.Client(base_url=base) as http:
            assert http.get("/api/segment/vips/scan").status_code == 401
            first = http.get(
                "/api/segment/vips/scan",
                params={"limit": 2},
                headers={"Authorization": DEFAULT_LYTICS_TOKEN},
            ).json()
            assert first["status"] == 200 and first["total"] == 3 and first["_next"]
            rest = http.get(
                "/api/segment/a1/scan",
                params={"limit": 2, "start": first["_next"], "key": DEFAULT_LYTICS_TOKEN},
            ).json()
            assert rest["status"] == "200" and rest["_next"] == ""
            ids = [p["external_id"] for p in first["data"] + rest["data"]]
            assert ids == ["x", "y", "z"]
            missing = http.get("/api/segment/nope/scan", params={"key": DEFAULT_LYTICS_TOKEN})
            assert missing.status_code == 404

            auth = {"Authorization": DEFAULT_LYTICS_TOKEN}
            records = [
                {"external_id": "x", "f": {"c1": True}},
                {"external_id": "y", "f": {"c1": True}},
            ]
            assert http.post("/collect/json/s", json=records, headers=auth).status_code == 200
            csv = b"external_id,f.c1\nx,false\n"
            assert http.post("/collect/bulk/s", content=csv, headers=auth).status_code == 200
            big = b"[" + b" " * (10 * 1024 * 1024) + b"]"
            assert http.post("/collect/json/s", content=big, headers=auth).status_code == 413
        state = server.lytics_state()
        assert state["members"]["s"]["f"]["c1"] == ["y"]
        assert state["bulk_uploads"] == 1


def test_faults_apply_to_the_lytics_api() -> None:
    with running_sandbox(fault_rate=1.0) as server:
        server.add_lytics_audience({"id": "a1", "ids": ["x"]})
        response = httpx.get(
            f"{server.base_url}/lytics/api/segment/a1/scan",
            headers={"Authorization": DEFAULT_LYTICS_TOKEN},
        )
        assert response.status_code in (502, 503, 504)
        assert server.counters()["requests"]["/lytics/scan"]


def test_audiences_file_is_seeded_at_start_and_reset(tmp_path: Path) -> None:
    path = tmp_path / "audiences.json"
    path.write_text('[{"id": "a1", "slug": "vips", "range": {"prefix": "u", "count": 5}}]')
    with running_sandbox(lytics_audiences_file=path) as server:
        assert server.lytics_state()["audiences"] == {"a1": {"slug": "vips", "size": 5}}
        server.add_lytics_audience({"id": "a2", "ids": ["x"]})
        server.reset()
        assert set(server.lytics_state()["audiences"]) == {"a1"}


def test_sandbox_help_documents_the_lytics_api() -> None:
    from click.testing import CliRunner

    from cohortops.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "--help"])
    assert "/lytics/api/segment/{id or slug}/scan" in result.output
    assert "--lytics-audiences" in result.output and "--lytics-token" in result.output


def test_lytics_data_survives_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with running_sandbox(state_file=state) as server:
        server.add_lytics_audience({"id": "a1", "slug": "vips", "ids": ["x", "y"]})
        server.sandbox.lytics.collect("s", [{"external_id": "x", "f": {"c": True}}])
        server.save()
    with running_sandbox(state_file=state) as server:
        lytics = server.lytics_state()
        assert lytics["audiences"] == {"a1": {"slug": "vips", "size": 2}}
        assert lytics["members"] == {"s": {"f": {"c": ["x"]}}}
