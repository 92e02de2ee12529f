"""A cohortops project on disk, wired to a sandbox running in the test process.

:class:`Project` writes a configuration directory (YAML + CSV sources) whose destination points at
the sandbox, runs cohortops on it (in-process through :class:`~cohortops.operations.context.App`, or as a real
``python -m cohortops`` subprocess that a test can kill), and reads both sides of the invariant:
what the state records and what the sandbox holds.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml

from cohortops.apply.progress import Progress
from cohortops.operations.apply_run import apply_command
from cohortops.operations.context import App
from cohortops.plan import render
from cohortops.plan.model import Plan
from cohortops.sandbox import SandboxServer
from cohortops.sandbox.testing import API_KEY, CLIENT_SECRET, PARTNER_KEY
from cohortops.state import Store, open_store

ATTRIBUTE = "segs"
PARTNER = "kubit"
CONNECTIONS = {"attribute": "attr", "cohort_import": "imp"}
FAST_CLIENT = {"backoff_base": 0.01, "backoff_cap": 0.05}
SECRETS = {
    "BRAZE_API_KEY": API_KEY,
    "KUBIT_PARTNER_KEY": PARTNER_KEY,
    "BRAZE_DATA_IMPORT_KEY": CLIENT_SECRET,
}
REPO = Path(__file__).resolve().parents[2]


def ids(prefix: str, start: int, stop: int) -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(start, stop)]


@dataclass
class CohortSpec:
    """One cohort of the project: its delivery, desired members and extra YAML keys."""

    method: str
    members: Iterable[str]
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Project:
    root: Path
    sandbox: SandboxServer
    state: Mapping[str, Any]  # the YAML `state:` block
    env: dict[str, str]  # the full environment of CLI subprocesses (secrets included)
    requests_per_second: float = 1000.0
    cohorts: dict[str, CohortSpec] = field(default_factory=dict)

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    # -- configuration -------------------------------------------------------------------------

    def write(self, cohorts: Mapping[str, CohortSpec] | None = None) -> None:
        """(Re)write the configuration: one YAML file, one CSV per cohort."""
        if cohorts is not None:
            self.cohorts = dict(cohorts)
        data = self.configs / "data"
        data.mkdir(parents=True, exist_ok=True)
        for old in data.glob("*.csv"):
            old.unlink()
        document: dict[str, Any] = {
            "version": 1,
            "state": dict(self.state),
            "destinations": {
                "braze": {
                    "rest_endpoint": self.sandbox.base_url,
                    "api_key": "${env:BRAZE_API_KEY}",
                    "requests_per_second": self.requests_per_second,
                }
            },
            "connections": {
                "attr": {
                    "partner": "lytics",
                    "destination": "braze",
                    "delivery": {
                        "method": "attribute",
                        "attribute": ATTRIBUTE,
                        "create_missing_users": False,
                        "max_array_length": 100,
                    },
                },
                "imp": {
                    "partner": PARTNER,
                    "destination": "braze",
                    "delivery": {
                        "method": "cohort_import",
                        "partner_api_key": "${env:KUBIT_PARTNER_KEY}",
                        "client_secret": "${env:BRAZE_DATA_IMPORT_KEY}",
                    },
                },
            },
            "cohorts": {},
        }
        for cohort_id, spec in self.cohorts.items():
            source = data / f"{cohort_id}.csv"
            source.write_text("user_id\n" + "".join(f"{m}\n" for m in spec.members))
            document["cohorts"][cohort_id] = {
                "connection": CONNECTIONS[spec.method],
                "identifier": "external_id",
                "source": {"file": f"data/{cohort_id}.csv", "column": "user_id"},
                **spec.extra,
            }
        text = yaml.safe_dump(document, sort_keys=False)
        (self.configs / "cohortops.yaml").write_text(text)

    def desired(self, cohort_id: str) -> set[str]:
        return set(self.cohorts[cohort_id].members)

    # -- running cohortops ---------------------------------------------------------------------

    def app(self) -> App:
        return App(self.configs)

    def plan(self) -> Plan:
        app = self.app()
        with app.store() as store:
            return app.plan(store)

    def apply(self, *overrides: str, client_options: Mapping[str, Any] | None = None) -> list[str]:
        """`apply --auto-approve` in this process; returns the output lines."""
        return list(self.apply_lines(*overrides, client_options=client_options))

    def apply_lines(
        self, *overrides: str, client_options: Mapping[str, Any] | None = None
    ) -> Iterator[str]:
        """The output lines of an in-process `apply --auto-approve`, as they come."""
        return apply_command(
            self.app(),
            None,
            (),
            frozenset(overrides),
            lambda _text: True,
            render,
            progress=Progress(enabled=False),
            client_options=dict(client_options or FAST_CLIENT),
        )

    def argv(self, *args: str) -> list[str]:
        """``python -m cohortops`` with ``-c`` after the command's name (``show`` takes none)."""
        words = 2 if args and args[0] in ("state", "audit") else 1
        config = [] if args and args[0] == "show" else ["-c", str(self.configs)]
        return [sys.executable, "-m", "cohortops", *args[:words], *config, *args[words:]]

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def main(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI's real entry point (error handler and exit codes) in this process: ~1 s
        faster than a subprocess. The caller's environment and working directory apply."""
        from cohortops.cli import main

        argv = self.argv(*args)[3:]
        out, err = io.StringIO(), io.StringIO()
        code: int | str | None = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
            except SystemExit as exc:
                code = exc.code
        status = code if isinstance(code, int) else 1 if code else 0
        return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # -- the two sides of the invariant --------------------------------------------------------

    def store(self) -> AbstractContextManager[Store]:
        config = self.app().config.state
        return open_store(config, cwd=self.root)

    def recorded(self) -> dict[str, set[str]]:
        """Every cohort in the state with its recorded members."""
        with self.store() as store:
            snapshot = store.snapshot()
            return {cid: set(store.members_iter(cid)) for cid in snapshot.cohorts}

    def remote_ids(self) -> dict[str, tuple[str, str]]:
        """cohort id → (delivery method, remote id) for every cohort in the state."""
        with self.store() as store:
            cohorts = store.snapshot().cohorts
        return {
            cid: (rec.settings["delivery"]["method"], rec.settings["remote_id"])
            for cid, rec in cohorts.items()
        }

    def remote(self) -> Remote:
        return Remote(self.sandbox.state())

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement straight on the state database, behind cohortops' back."""
        if self.state["backend"] == "sqlite":
            import sqlite3

            path = self.app().config.state.path
            assert path is not None
            conn = sqlite3.connect(path)
            try:
                with conn:
                    rows = conn.execute(statement, params).fetchall()
            finally:
                conn.close()
            return rows
        with psycopg.connect(self.env["COHORTOPS_STATE_URL"], autocommit=True) as pg:
            cur = pg.execute(statement.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []


class Remote:
    """What the sandbox holds, read once."""

    def __init__(self, state: Mapping[str, Any]) -> None:
        self.state = state
        self._by_value: dict[str, set[str]] = {}
        for user in state["users"]:
            values = user.get("custom_attributes", {}).get(ATTRIBUTE) or []
            for value in values:
                self._by_value.setdefault(value, set()).add(user.get("external_id"))
        self.cohorts = {c["cohort_id"]: c for c in state["cohorts"] if c["partner"] == PARTNER}

    def members(self, method: str, remote_id: str) -> set[str]:
        if method == "attribute":
            return set(self._by_value.get(remote_id, ()))
        cohort = self.cohorts.get(remote_id)
        return set(cohort["member_external_ids"]) if cohort else set()

    def cohort_name(self, remote_id: str) -> str | None:
        cohort = self.cohorts.get(remote_id)
        return cohort["name"] if cohort else None


def assert_converged(
    project: Project,
    *,
    unsent: Mapping[str, set[str]] | None = None,
    gone: Iterable[tuple[str, str]] = (),
) -> dict[str, set[str]]:
    """The sandbox holds exactly what the state records, and a new plan has nothing to do.

    ``unsent``: baseline members recorded but deliberately never sent, per cohort. ``gone``:
    (method, remote id) of destroyed cohorts, which must hold nobody.
    """
    recorded = project.recorded()
    remote = project.remote()
    for cohort_id, (method, remote_id) in project.remote_ids().items():
        expected = recorded[cohort_id] - (unsent or {}).get(cohort_id, set())
        held = remote.members(method, remote_id)
        assert held == expected, (
            f"{cohort_id}: sandbox and state differ: only in sandbox "
            f"{sorted(held - expected)[:5]}, only in state {sorted(expected - held)[:5]}"
        )
    for method, remote_id in gone:
        assert remote.members(method, remote_id) == set(), f"{remote_id} still has members"
    plan = project.plan()
    assert not plan.has_changes, render(plan, "text")
    return recorded


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTOPS_", "GITHUB_"))}
    env.update(SECRETS)
    env["COHORTOPS_ACTOR"] = "tester@ci"
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


def schema_url(base: str, schema: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"
