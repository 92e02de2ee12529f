"""Every command of docs/gitops.md, run in the story the page tells, against a sandbox and a
PostgreSQL state: set-up, a pull request, a stale plan, a failed apply and its resumption,
scheduled runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cohortops.sandbox import SandboxConfig, SandboxServer, serve_in_thread
from cohortops.sandbox.config import DEFAULT_LYTICS_TOKEN
from cohortops.sandbox.testing import API_KEY, CLIENT_SECRET, PARTNER_KEY

from .runner import REPO, example_repository, serve_lytics_audiences

DOC = REPO / "docs" / "gitops.md"
SANDBOX = SandboxConfig(array_length_overrides={"lytics_segments": 100})


def doc_commands() -> list[str]:
    """The shell lines of the page's ```sh blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def start(port: int = 0) -> SandboxServer:
    server = serve_in_thread(SANDBOX, port=port)
    server.seed_users(
        {"external_ids_range": {"prefix": "user_", "start": 0, "count": 10_000, "width": 6}}
    )
    serve_lytics_audiences(server)
    return server


@pytest.fixture
def state_url(postgres_url: str) -> Iterator[str]:
    schema = f"cohortops_docs_{uuid.uuid4().hex[:10]}"
    joiner = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{joiner}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def drop_lines(path: Path, count: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-count]))


def test_every_command_of_the_gitops_page_works_as_described(
    tmp_path: Path, state_url: str
) -> None:
    sandbox = start()
    repo = example_repository(tmp_path / "repo", sandbox.base_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHORTOPS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        COHORTOPS_STATE_URL=state_url,
        BRAZE_API_KEY=API_KEY,
        KUBIT_PARTNER_KEY=PARTNER_KEY,
        BRAZE_DATA_IMPORT_KEY=CLIENT_SECRET,
        LYTICS_TOKEN=DEFAULT_LYTICS_TOKEN,
    )
    ran: list[str] = []

    def sh(command: str, expect: int) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == expect, (
            f"{command}: {done.returncode}\n{done.stdout}{done.stderr}"
        )
        ran.append(command)
        return done

    data = repo / "configs" / "data"
    try:
        # Set-up from zero (the export line is this test's own state URL).
        exported = [c for c in doc_commands() if c.startswith("export ")]
        assert exported == [next(c for c in doc_commands() if "COHORTOPS_STATE_URL=" in c)]
        ran += exported
        sh("cohortops validate", 0)
        assert "check ok: destination braze-prod" in sh("cohortops plan --check", 0).stderr

        # The life of a pull request.
        sh("cohortops validate", 0)
        sh(
            "cohortops plan --check --detailed-exitcode --out cohorts.plan --format markdown > plan.md",
            2,
        )
        assert "(from COHORTOPS_STATE_URL): none yet" in (repo / "plan.md").read_text()
        sh("cohortops show cohorts.plan", 0)
        sh("cohortops apply cohorts.plan", 0)
        sh("cohortops plan --detailed-exitcode", 0)

        # A stale plan: reviewed, then another change is applied first.
        drop_lines(data / "newsletter_engaged.jsonl", 3)
        sh("cohortops plan --out cohorts.plan", 0)
        drop_lines(data / "power_users.csv", 3)
        sh("cohortops apply --auto-approve", 0)  # the other change (not a command of the page)
        ran.pop()
        stale = sh("cohortops apply cohorts.plan", 1)
        assert "Saved plan is stale: the state moved from serial" in stale.stderr
        sh("cohortops plan --out cohorts.plan", 0)
        sh("cohortops apply cohorts.plan", 0)

        # A failed apply (Braze unreachable), then resumed.
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        drop_lines(data / "newsletter_engaged.jsonl", 3)
        sh("cohortops plan --out cohorts.plan", 0)
        sandbox.stop()
        failed = sh("cohortops apply cohorts.plan", 1)
        assert (
            f"Cannot reach Braze at {sandbox.base_url} (rest_endpoint of destination"
            in failed.stderr
        )
        sandbox = start(port)
        sh("cohortops history", 0)
        sh("cohortops plan --out cohorts.plan", 0)
        sh("cohortops apply cohorts.plan", 0)
        sh("cohortops plan --detailed-exitcode", 0)

        # Scheduled runs.
        sh("cohortops run", 0)
        sh("cohortops run --now churn-risk", 0)
        assert "churn-risk" in sh("cohortops history churn-risk", 0).stdout
    finally:
        sandbox.stop()
    missing = [c for c in doc_commands() if c not in ran]
    assert missing == [], f"commands of docs/gitops.md no test ran: {missing}"
