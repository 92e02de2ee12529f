"""A destination no connection opens to fails at once, once, naming rest_endpoint.

Connection refused, DNS and TLS failures are not Braze being busy: before, each batch of each
cohort was tried 8 times over ~20 s (about 3 minutes for the example project).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
from miniproject import cli, write_project

from cohortops.braze.errors import RequestContext, unreachable
from cohortops.sandbox import SandboxConfig, serve_in_thread

MEMBERS = {f"c{i}": [f"u{j:06d}" for j in range(i * 200, i * 200 + 200)] for i in range(3)}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_fails_within_seconds_once_naming_the_endpoint(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    configs = write_project(tmp_path / "configs", endpoint, MEMBERS)
    started = time.monotonic()
    result = cli("apply", "-c", str(configs), "--auto-approve", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert result.stderr.count("Cannot reach Braze") == 1
    assert (
        f"Cannot reach Braze at {endpoint} (rest_endpoint of destination braze): "
        "connection refused. Nothing was sent." in result.stderr
    )
    assert "rate limited" not in result.stderr


def test_a_tls_failure_is_named_as_such(tmp_path: Path) -> None:
    with serve_in_thread(SandboxConfig()) as sandbox:  # plain HTTP: an https client fails TLS
        endpoint = sandbox.base_url.replace("http://", "https://")
        configs = write_project(tmp_path / "configs", endpoint, MEMBERS)
        started = time.monotonic()
        result = cli("apply", "-c", str(configs), "--auto-approve", cwd=tmp_path)
    assert result.returncode == 1
    assert time.monotonic() - started < 10
    assert f"Cannot reach Braze at {endpoint}" in result.stderr
    assert "TLS handshake failed" in result.stderr


def test_a_dns_failure_is_named_as_such() -> None:
    ctx = RequestContext(
        method_path="POST /users/track",
        destination_id="braze-prod",
        base_url="https://rest.example.invalid",
    )
    error = unreachable(ctx, httpx.ConnectError("cannot connect (gaierror)"))
    assert str(error).startswith(
        "Cannot reach Braze at https://rest.example.invalid (rest_endpoint of destination "
        "braze-prod): DNS lookup of rest.example.invalid failed."
    )
