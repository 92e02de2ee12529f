"""GitOps as shipped: the workflows' own commands, on separate runners, one PostgreSQL state.

Every runner is a fresh copy of the repository (no state, no plan file left from another job);
the only things carried between them are the plan artifact and the COHORTOPS_STATE_URL secret,
as on GitHub.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cohortops.sandbox import SandboxConfig, SandboxServer, serve_in_thread
from cohortops.sandbox.config import DEFAULT_LYTICS_TOKEN
from cohortops.sandbox.testing import API_KEY, CLIENT_SECRET, PARTNER_KEY

from .runner import (
    JobResult,
    example_repository,
    fresh_copy,
    run_job,
    serve_lytics_audiences,
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = serve_in_thread(SandboxConfig(array_length_overrides={"lytics_segments": 100}))
    server.seed_users(
        {"external_ids_range": {"prefix": "user_", "start": 0, "count": 10_000, "width": 6}}
    )
    serve_lytics_audiences(server)
    yield server
    server.stop()


@pytest.fixture
def state_url(postgres_url: str) -> Iterator[str]:
    schema = f"cohortops_gitops_{uuid.uuid4().hex[:10]}"
    joiner = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{joiner}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Repo:
    """The repository's main branch, pull requests off it, and runners that check them out."""

    def __init__(self, root: Path, sandbox: SandboxServer, state_url: str) -> None:
        self.root = root
        self.main = example_repository(root / "main", sandbox.base_url)
        self.secrets = {
            "COHORTOPS_STATE_URL": state_url,
            "BRAZE_API_KEY": API_KEY,
            "KUBIT_PARTNER_KEY": PARTNER_KEY,
            "BRAZE_DATA_IMPORT_KEY": CLIENT_SECRET,
            "LYTICS_TOKEN": DEFAULT_LYTICS_TOKEN,
        }
        self.artifacts: dict[str, Path] = {}
        self._runners = 0
        self._bases: dict[Path, dict[str, bytes]] = {}

    def branch(self, name: str) -> Path:
        tree = fresh_copy(self.main, self.root / "branches" / name)
        self._bases[tree] = _files(tree)
        return tree

    def merge(self, branch: Path) -> None:
        """Merge the files the branch changed since it was made (no conflicts in these tests)."""
        for rel, content in _files(branch).items():
            if self._bases[branch].get(rel) != content:
                (self.main / rel).write_bytes(content)

    def job(self, workflow: str, job: str, tree: Path, pr: int = 0, run: int = 0) -> JobResult:
        self._runners += 1
        checkout = fresh_copy(tree, self.root / "runners" / str(self._runners))
        context = {
            "github.event.pull_request.number": str(pr),
            "github.run_id": str(run or 1000 + self._runners),
        }
        return run_job(workflow, job, checkout, self.secrets, context, self.artifacts)


def _files(tree: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tree)): p.read_bytes()
        for p in (tree / "configs").rglob("*")
        if p.is_file()
    }


def drop_lines(path: Path, count: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-count]))


def test_plan_on_a_pull_request_apply_on_merge_on_other_runners_and_stale_plans(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    repo = Repo(tmp_path, sandbox, state_url)
    pr = repo.branch("pr-1")

    planned = repo.job("cohorts-plan.yml", "plan", pr, pr=1)
    assert planned.ok, planned.stderr
    assert planned.outputs["exitcode"] == "2"
    comment = (repo.root / "runners" / "1" / "plan.md").read_text()
    assert "(from COHORTOPS_STATE_URL): none yet" in comment
    assert "schema cohortops_gitops_" in comment

    repo.merge(pr)
    applied = repo.job("cohorts-apply.yml", "apply", repo.main, pr=1)
    assert applied.ok, applied.stderr
    assert "finished" in applied.stdout

    after = repo.job("cohorts-plan.yml", "plan", repo.branch("pr-0"), pr=9)
    assert after.ok, after.stderr
    # plan --detailed-exitcode on a third runner: no changes left.
    assert after.outputs["exitcode"] == "0"

    # Two pull requests planned against the same state; the second one is merged first.
    churn = repo.branch("pr-2")
    drop_lines(churn / "configs" / "data" / "newsletter_engaged.jsonl", 5)
    power = repo.branch("pr-3")
    drop_lines(power / "configs" / "data" / "power_users.csv", 5)
    assert repo.job("cohorts-plan.yml", "plan", churn, pr=2).outputs["exitcode"] == "2"
    assert repo.job("cohorts-plan.yml", "plan", power, pr=3).outputs["exitcode"] == "2"
    repo.merge(power)
    assert repo.job("cohorts-apply.yml", "apply", repo.main, pr=3).ok
    repo.merge(churn)
    refused = repo.job("cohorts-apply.yml", "apply", repo.main, pr=2)
    assert not refused.ok
    assert "Saved plan is stale: the state moved from serial" in refused.stderr
    assert "Run `cohortops plan` again" in refused.stderr
    assert "run the cohorts-apply workflow on main" in refused.stdout  # the recovery step

    # Recovery as the workflow offers it: plan on main, then apply that plan.
    replanned = repo.job("cohorts-apply.yml", "replan", repo.main, run=77)
    assert replanned.ok, replanned.stderr
    assert "newsletter-engaged" in replanned.summary
    applied = repo.job("cohorts-apply.yml", "apply-replanned", repo.main, run=77)
    assert applied.ok, applied.stderr
    final = repo.job("cohorts-plan.yml", "plan", repo.branch("pr-4"), pr=4)
    assert final.outputs["exitcode"] == "0"


def test_the_plan_job_refuses_to_run_without_a_shared_state(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    repo = Repo(tmp_path, sandbox, state_url)
    repo.secrets["COHORTOPS_STATE_URL"] = ""
    result = repo.job("cohorts-plan.yml", "plan", repo.branch("pr-1"), pr=1)
    assert not result.ok
    assert "Set the COHORTOPS_STATE_URL secret" in result.stdout
