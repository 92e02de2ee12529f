"""A one-cohort cohortops project on disk, and the CLI run in this process (fast, exit codes).

Shared by the state-location and GitOps tests: ``write_project`` lays out ``configs/`` with a CSV
source and a destination pointing at a sandbox; ``cli`` runs ``cohortops`` as a user would.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from cohortops.sandbox import SandboxConfig, SandboxServer, serve_in_thread
from cohortops.sandbox.testing import API_KEY

ENV = {"BRAZE_API_KEY": API_KEY}


def write_project(
    configs: Path,
    endpoint: str,
    members: Mapping[str, list[str]],
    *,
    state: Mapping[str, Any] | None = None,
) -> Path:
    """``configs/cohortops.yaml`` plus ``configs/data/<cohort>.csv``; returns ``configs``."""
    (configs / "data").mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"version": 1}
    if state is not None:
        document["state"] = dict(state)
    document["destinations"] = {
        "braze": {
            "rest_endpoint": endpoint,
            "api_key": "${env:BRAZE_API_KEY}",
            "requests_per_second": 1000,
        }
    }
    document["connections"] = {
        "attr": {
            "partner": "lytics",
            "destination": "braze",
            "delivery": {"method": "attribute", "attribute": "segs", "max_array_length": 100},
        }
    }
    document["cohorts"] = {}
    for cohort, ids in members.items():
        (configs / "data" / f"{cohort}.csv").write_text(
            "user_id\n" + "".join(f"{m}\n" for m in ids)
        )
        document["cohorts"][cohort] = {
            "connection": "attr",
            "identifier": "external_id",
            "source": {"file": f"data/{cohort}.csv", "column": "user_id"},
        }
    (configs / "cohortops.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return configs


@contextlib.contextmanager
def sandbox_with_users(count: int) -> Iterator[SandboxServer]:
    """A sandbox on 127.0.0.1 that knows the external ids u000000 … u{count - 1:06d}."""
    server = serve_in_thread(SandboxConfig())
    try:
        server.seed_users(
            {"external_ids_range": {"prefix": "u", "start": 0, "count": count, "width": 6}}
        )
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _environment(cwd: Path, env: Mapping[str, str | None]) -> Iterator[None]:
    old_cwd, old_env = Path.cwd(), dict(os.environ)
    os.chdir(cwd)
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)


def cli(
    *argv: str, cwd: Path, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``cohortops ARGV`` through the real entry point, in ``cwd`` with ``env`` added (a None
    value unsets that variable; COHORTOPS_STATE_URL is unset unless given)."""
    from cohortops.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with (
        _environment(cwd, {**ENV, "COHORTOPS_STATE_URL": None, **(env or {})}),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code
    status = code if isinstance(code, int) else 1 if code else 0
    return subprocess.CompletedProcess(list(argv), status, out.getvalue(), err.getvalue())
