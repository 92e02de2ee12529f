"""`cohortops demo`: the whole loop against a local Braze sandbox, on the example configs.

validate → plan → apply → plan (no changes), with a temporary SQLite state and the sandbox
seeded with the users the example cohorts reference. Cohorts read from Lytics get a sandbox
audience per segment, and cohorts read from a Braze segment a sandbox segment, each seeded from
``data/<segment>.csv`` (column ``user_id``) next to the configuration. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cohortops.apply.progress import Progress
from cohortops.config.model import BrazeSegmentSource, Config, LyticsSource, StateConfig
from cohortops.errors import CohortopsError
from cohortops.operations.apply_run import apply_command
from cohortops.operations.audit_report import verify
from cohortops.operations.context import App
from cohortops.operations.history_report import history_lines
from cohortops.plan import render
from cohortops.plan.planfile import write_plan
from cohortops.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PARTNER_KEY,
    SandboxConfig,
    SandboxServer,
    serve_in_thread,
)
from cohortops.sandbox.config import DEFAULT_LYTICS_TOKEN
from cohortops.state.location import config_dir, locate_state

POPULATION = 10_000  # user_000000 … user_009999, as scripts/generate_example_data.py assumes
SECRETS = {
    "BRAZE_API_KEY": DEFAULT_API_KEY,
    "KUBIT_PARTNER_KEY": DEFAULT_PARTNER_KEY,
    "BRAZE_DATA_IMPORT_KEY": DEFAULT_CLIENT_SECRET,
    "LYTICS_TOKEN": DEFAULT_LYTICS_TOKEN,
}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def kept_state(config_path: Path) -> Path:
    """Where ``demo --keep`` leaves the state: the configuration's own SQLite state file."""

    location = locate_state(App(config_path).config)
    if location.state.backend != "sqlite" or location.state.path is None:
        raise CohortopsError(
            "demo --keep keeps a SQLite state, but this configuration's state is in "
            f"{location.state.backend}.",
            hint="Unset COHORTOPS_STATE_URL or point -c at a configuration with a SQLite state.",
        )
    return location.state.path


def run_demo(config_path: Path, echo: Callable[[str], None], keep: Path | None = None) -> None:
    """The whole loop; with ``keep`` (a state file path) the state and the first plan stay.

    ``keep`` is meant to be the configuration's default state (``.cohortops/state.db``), so that
    ``cohortops ui`` opens the dashboard on what the demo did. An existing file is never reused.
    """
    if keep is not None and keep.exists():
        raise CohortopsError(
            f"{keep} already exists; the demo keeps its state only in a new file.",
            hint="Remove it if it is an earlier demo's state, or keep the demo elsewhere.",
        )
    if not config_path.exists():
        raise CohortopsError(
            f"{config_path}: not found. Run the demo from the cohortops repository root "
            "(it uses the example configs/), or pass -c PATH."
        )
    with (
        tempfile.TemporaryDirectory(prefix="cohortops-demo-") as tmp,
        serve_in_thread(SandboxConfig(array_length_overrides={"lytics_segments": 100})) as sandbox,
        _environment(SECRETS),
    ):
        sandbox.seed_users(
            {"external_ids_range": {"prefix": "user_", "start": 0, "count": POPULATION, "width": 6}}
        )
        state = keep.resolve() if keep is not None else Path(tmp) / "state.db"
        echo(
            f"Braze sandbox on {sandbox.base_url} with {POPULATION:,} users; "
            f"state in {state.parent}."
        )
        app = App(
            config_path,
            state_override=StateConfig(path=state),
            endpoint_override=sandbox.base_url,
        )
        config = app.config
        _seed_sources(config, sandbox, echo)

        echo("\n$ cohortops validate")
        echo(f"Configuration valid: {len(config.files)} file(s), {len(config.cohorts)} cohort(s).")
        echo("\n$ cohortops plan")
        with app.store() as store:
            first = app.plan(store)
        echo(render(first, "text").rstrip("\n"))
        kept_plan = config_dir(config) / "demo.plan"  # where `cohortops ui` lists plans
        if keep is not None:
            write_plan(first, kept_plan)

        echo("\n$ cohortops apply --auto-approve")
        for line in apply_command(
            app,
            None,
            (),
            frozenset(),
            lambda text: True,
            render,
            progress=Progress(enabled=True),
        ):
            echo(line)

        echo("\n$ cohortops plan")
        with app.store() as store:
            again = app.plan(store)
        echo(render(again, "text").rstrip("\n"))
        if again.has_changes:
            raise CohortopsError("The second plan still has changes: the apply did not converge.")

        echo("\n$ cohortops history")
        with app.store() as store:
            for line in history_lines(store, None, "text", 10):
                echo(line)
            echo("\n$ cohortops audit verify")
            echo(verify(store))
        counters = sandbox.counters()
        echo(f"\nSandbox saw {_requests(counters):,} requests. Braze now matches configs/.")
        if keep is not None:
            echo(
                f"\nKept the state in {state} and the first plan in {kept_plan}."
                f" `cohortops ui -c {config_path}` shows them."
            )


def _requests(counters: dict[str, object]) -> int:
    total = counters.get("requests_total")
    return total if isinstance(total, int) else 0


def _seed_sources(config: Config, sandbox: SandboxServer, echo: Callable[[str], None]) -> None:
    """Seed the sandbox's Lytics audiences and Braze segments the example cohorts read."""
    seeded: set[str] = set()
    for cohort in config.cohorts.values():
        source = cohort.source
        if not isinstance(source, LyticsSource | BrazeSegmentSource):
            continue
        if source.describe() in seeded:  # one source feeding several connections
            continue
        seeded.add(source.describe())
        members = _seed_members(config, source.segment)
        if isinstance(source, BrazeSegmentSource):
            sandbox.add_braze_segment(source.segment, members)
            echo(f"Braze sandbox segment {source.segment}: {len(members):,} users.")
            continue
        sandbox.add_lytics_audience(
            {"id": source.segment, "id_field": source.id_field, "ids": members}
        )
        echo(f"Lytics sandbox audience {source.segment}: {len(members):,} profiles.")


def _seed_members(config: Config, segment: str) -> list[str]:
    root = config.root if config.root.is_dir() else config.root.parent
    seed = root / "data" / f"{segment}.csv"
    if not seed.is_file():
        raise CohortopsError(f"{seed}: no seed for the sandbox's segment {segment}.")
    with seed.open(newline="") as handle:
        return [row["user_id"] for row in csv.DictReader(handle)]
