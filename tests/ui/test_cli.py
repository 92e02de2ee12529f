"""`cohortops demo --keep` then `cohortops ui`: the README's one command, as processes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cohortops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cohortops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ui_refuses_other_hosts_without_a_token(tmp_path: Path) -> None:
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    result = cohortops("ui", "--host", "0.0.0.0", cwd=tmp_path)
    assert result.returncode == 1
    assert "without a token" in result.stderr and "Traceback" not in result.stderr


def test_demo_keep_then_ui_serves_the_demo(tmp_path: Path) -> None:
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    kept = cohortops("demo", "--keep", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert (tmp_path / "configs" / ".cohortops" / "state.db").exists()
    again = cohortops("demo", "--keep", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cohortops", "ui", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                overview = httpx.get(base + "/", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        assert overview.status_code == 200
        for cohort in ("power-users", "churn-risk", "weekly-buyers", "newsletter-engaged"):
            assert cohort in overview.text
        plans = httpx.get(base + "/plans", timeout=5).text
        assert "demo.plan" in plans
        plan = httpx.get(base + "/plan/" + plans.split('href="/plan/')[1].split('"')[0], timeout=5)
        assert "Plan: 6 cohorts to change, +14,800 / -0 members" in plan.text
        assert "Stale" in plan.text  # the demo applied it since
    finally:
        server.terminate()
        server.wait(timeout=10)
