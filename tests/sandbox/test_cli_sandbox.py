"""`cohortops sandbox` as a user starts it: help for every option, a banner naming every key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import httpx

from cohortops.cli import cli


def test_every_sandbox_option_has_help() -> None:
    command = cli.commands["sandbox"]
    missing = [p.name for p in command.params if isinstance(p, click.Option) and not p.help]
    assert missing == []


def test_banner_lists_every_key_and_the_users_loaded_from_a_csv(tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text("external_id,plan\nu1,pro\nu2,free\nu3,pro\n")
    keys = ["--api-key", "REST", "--partner-key", "PARTNER", "--data-import-key", "IMPORT"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cohortops", "sandbox", "--port", "0", "--users", str(users), *keys],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(4)]
        url = re.search(r"listening on (http://\S+);", banner[0])
        assert url is not None, banner
        assert f"seeded 3 user(s) from {users}" in banner[0]
        assert "REST" in banner[1] and "PARTNER" in banner[2] and "IMPORT" in banner[3]
        base = url.group(1)
        # the header row is a header, not a user; the partner keys given are the ones accepted
        state = httpx.get(f"{base}/_sandbox/state", timeout=10).json()
        assert sorted(u["external_id"] for u in state["users"]) == ["u1", "u2", "u3"]
        made = httpx.post(
            f"{base}/partners/kubit/cohorts",
            json={
                "partner_api_key": "PARTNER",
                "client_secret": "IMPORT",
                "cohort_id": "c1",
                "name": "C1",
                "created_at": "2026-01-01T00:00:00Z",
            },
            timeout=10,
        )
        assert made.status_code == 201, made.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
