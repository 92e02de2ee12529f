"""plan --check: each destination's endpoint and keys, proven with requests that change nothing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from miniproject import cli, write_project

from cohortops.sandbox import SandboxConfig, SandboxServer, serve_in_thread
from cohortops.sandbox.testing import CLIENT_SECRET, PARTNER_KEY

KEYS = {"KUBIT_PARTNER_KEY": PARTNER_KEY, "BRAZE_DATA_IMPORT_KEY": CLIENT_SECRET}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = serve_in_thread(SandboxConfig())
    server.seed_users({"external_ids_range": {"prefix": "u", "start": 0, "count": 10, "width": 6}})
    yield server
    server.stop()


def project(tmp_path: Path, endpoint: str) -> Path:
    """One attribute cohort and one cohort-import cohort on ``endpoint``."""
    configs = write_project(tmp_path / "configs", endpoint, {"a": ["u000001"], "b": ["u000002"]})
    doc = yaml.safe_load((configs / "cohortops.yaml").read_text())
    doc["connections"]["imp"] = {
        "partner": "kubit",
        "destination": "braze",
        "delivery": {
            "method": "cohort_import",
            "partner_api_key": "${env:KUBIT_PARTNER_KEY}",
            "client_secret": "${env:BRAZE_DATA_IMPORT_KEY}",
        },
    }
    doc["cohorts"]["b"]["connection"] = "imp"
    (configs / "cohortops.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return configs


def test_check_passes_and_changes_nothing(tmp_path: Path, sandbox: SandboxServer) -> None:
    configs = project(tmp_path, sandbox.base_url)
    before = sandbox.state()
    result = cli(
        "plan", "--check", "-c", str(configs), "--detailed-exitcode", cwd=tmp_path, env=KEYS
    )
    assert result.returncode == 2, result.stderr
    assert (
        f"check ok: destination braze at {sandbox.base_url}: reachable, api_key accepted"
        in result.stderr
    )
    assert "check ok: connection imp" in result.stderr
    assert sandbox.state() == before


def test_check_names_the_refused_key_and_makes_no_plan(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    configs = project(tmp_path, sandbox.base_url)
    out = tmp_path / "cohorts.plan"
    bad_key = cli(
        "plan",
        "--check",
        "-c",
        str(configs),
        "--out",
        str(out),
        cwd=tmp_path,
        env={**KEYS, "BRAZE_API_KEY": "wrong"},
    )
    assert bad_key.returncode == 1
    assert (
        "check FAILED: destination braze" in bad_key.stderr
        and "HTTP 401: api_key" in bad_key.stderr
    )
    assert not out.exists() and bad_key.stdout == ""
    bad_secret = cli(
        "plan",
        "--check",
        "-c",
        str(configs),
        cwd=tmp_path,
        env={**KEYS, "BRAZE_DATA_IMPORT_KEY": "x"},
    )
    assert bad_secret.returncode == 1
    assert "check FAILED: connection imp" in bad_secret.stderr


def test_check_of_an_unreachable_endpoint_is_fast(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configs = project(tmp_path, f"http://127.0.0.1:{port}")
    started = time.monotonic()
    result = cli("plan", "--check", "-c", str(configs), cwd=tmp_path, env=KEYS)
    assert result.returncode == 1 and time.monotonic() - started < 5
    assert "cannot connect (connection refused); check rest_endpoint" in result.stderr
