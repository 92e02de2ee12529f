"""Run a GitHub Actions job of this repository the way a runner would, minus GitHub.

Each ``run:`` step is executed with ``bash -e`` in a fresh copy of the repository, with the job's
``env:`` (``${{ secrets.X }}`` taken from the given secrets), ``GITHUB_OUTPUT`` and
``GITHUB_STEP_SUMMARY``. ``uses:`` steps are simulated: checkout is the fresh copy, setup-python
and ``pip install .`` are the test's own interpreter, artifacts are files carried between
copies. ``if: failure()`` steps run only after a failed step, as on GitHub.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cohortops.sandbox import SandboxServer

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_job(workflow: str, job: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / workflow).read_text())
    return dict(data["jobs"][job])


@dataclass
class JobResult:
    ok: bool
    steps: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)


def fresh_copy(origin: Path, into: Path) -> Path:
    """A checkout: the repository's tracked content as ``origin`` holds it, nothing else."""
    shutil.copytree(origin, into, ignore=shutil.ignore_patterns(".cohortops", "*.plan"))
    return into


def run_job(
    workflow: str,
    job: str,
    checkout: Path,
    secrets: Mapping[str, str],
    context: Mapping[str, str],
    artifacts: dict[str, Path],
) -> JobResult:
    """Run ``job`` of ``workflow`` in ``checkout``; ``artifacts`` maps names to files (in/out)."""
    spec = load_job(workflow, job)

    def expand(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("secrets."):
                return secrets.get(expr.removeprefix("secrets."), "")
            return context.get(expr, "")

        return _EXPR.sub(value, text)

    env = {k: v for k, v in os.environ.items() if not k.startswith("COHORTOPS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update({k: expand(str(v)) for k, v in (spec.get("env") or {}).items()})
    output = checkout / ".github-output"
    summary = checkout / ".github-summary"
    env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"] = str(output), str(summary)
    output.touch()
    summary.touch()
    result = JobResult(ok=True)
    for step in spec["steps"]:
        condition = str(step.get("if", ""))
        if condition == "failure()" and result.ok:
            continue
        if condition != "failure()" and not result.ok:
            continue
        if "uses" in step:
            result.ok = _uses(step, checkout, expand, artifacts)
            continue
        script = expand(step["run"])
        if script.strip() == "pip install .":
            continue  # this interpreter already has cohortops installed
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=checkout,
            env={**env, **{k: expand(str(v)) for k, v in (step.get("env") or {}).items()}},
            capture_output=True,
            text=True,
            timeout=300,
        )
        result.steps.append(done)
        if done.returncode != 0:
            result.ok = False
    for line in output.read_text().splitlines():
        key, _, value = line.partition("=")
        result.outputs[key] = value
    result.summary = summary.read_text()
    return result


def _uses(step: Mapping[str, Any], checkout: Path, expand: Any, artifacts: dict[str, Path]) -> bool:
    action = str(step["uses"]).split("@")[0]
    given = {k: expand(str(v)) for k, v in (step.get("with") or {}).items()}
    if action in (
        "actions/checkout",
        "actions/setup-python",
        "marocchino/sticky-pull-request-comment",
    ):
        return True
    if action == "actions/upload-artifact":
        source = checkout / given["path"]
        if not source.is_file():
            return False
        artifacts[given["name"]] = source
        return True
    if action in ("actions/download-artifact", "dawidd6/action-download-artifact"):
        found = artifacts.get(given["name"])
        if found is None:
            return False
        shutil.copy(found, checkout / found.name)
        return True
    raise AssertionError(f"unsimulated action {action}")


SHIPPED_ENDPOINT = "https://rest.fra-01.braze.eu"
SHIPPED_LYTICS = "https://api.lytics.io"


def example_repository(into: Path, endpoint: str) -> Path:
    """The repository's example project and workflows, its Braze endpoint replaced by ``endpoint``
    (the one line a real repository would not change)."""
    into.mkdir(parents=True)
    for part in ("configs", ".github", "schemas"):
        shutil.copytree(REPO / part, into / part)
    lytics = f"{endpoint}/lytics"  # the sandbox serves Lytics' API under /lytics
    for path in (into / "configs").rglob("*.yaml"):
        text = path.read_text().replace(SHIPPED_ENDPOINT, endpoint)
        text = text.replace(SHIPPED_LYTICS, lytics).replace(
            "id_field: external_id}", f"id_field: external_id, endpoint: '{lytics}'}}"
        )
        path.write_text(text)
    return into


def serve_lytics_audiences(sandbox: SandboxServer) -> None:
    """The example project's Lytics audience (churn_risk) and Braze segment (engaged_30d), from
    their shipped CSVs."""
    sandbox.add_lytics_audience({"id": "churn_risk", "ids": _seed("churn_risk")})
    sandbox.add_braze_segment("engaged_30d", _seed("engaged_30d"))


def _seed(name: str) -> list[str]:
    with (REPO / "configs" / "data" / f"{name}.csv").open(newline="") as handle:
        return [row["user_id"] for row in csv.DictReader(handle)]
