"""apply and run: carry out a plan against Braze, now or on the cohorts' schedules."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import (
    cli,
    cohort_option,
    config_option,
    engine_option,
    override_options,
    overrides_given,
    pass_app,
    render,
    report_format_option,
)
from cohortops.errors import CohortopsError

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


def confirm_with(auto_approve: bool) -> Callable[[str], bool]:
    def confirm(text: str) -> bool:
        click.echo(text, nl=False)
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            raise CohortopsError(
                "Refusing to apply without approval: no terminal to ask on. Pass "
                "--auto-approve, or save a plan with `plan --out` and apply that file."
            )
        answer = click.prompt(
            "\nDo you want to apply these changes? Only 'yes' will be accepted",
            default="",
            show_default=False,
        )
        return bool(answer.strip() == "yes")

    return confirm


@cli.command()
@config_option
@cohort_option
@click.argument("planfile", type=click.Path(path_type=Path), required=False)
@click.option("--auto-approve", is_flag=True, help="Skip the interactive 'yes'.")
@click.option(
    "--refresh",
    is_flag=True,
    help="Plan against what Braze holds (cohorts with braze_segment) and record it first.",
)
@click.option(
    "--resync",
    multiple=True,
    metavar="COHORT",
    help="Re-send every desired member of COHORT and remove everyone else (repeatable).",
)
@override_options
@engine_option
@pass_app
def apply(
    app: App,
    cohorts: tuple[str, ...],
    planfile: Path | None,
    auto_approve: bool,
    refresh: bool,
    resync: tuple[str, ...],
    **flags: bool,
) -> None:
    """Carry out a plan against Braze: the saved PLANFILE, or a fresh one after you approve it."""
    from cohortops.operations.apply_run import apply_command

    confirm = confirm_with(auto_approve)
    lines = apply_command(
        app,
        planfile,
        cohorts,
        overrides_given(flags),
        confirm,
        render,
        refresh=refresh,
        resync=resync,
    )
    for line in lines:
        click.echo(line)


@cli.command()
@config_option
@click.option(
    "--now",
    "now_cohorts",
    multiple=True,
    metavar="COHORT",
    help="Run this cohort now, whatever its schedule (repeatable).",
)
@override_options
@report_format_option
@pass_app
def run(app: App, now_cohorts: tuple[str, ...], fmt: str, **flags: bool) -> None:
    """Apply the cohorts whose schedule is due (for cron or a CI schedule), or --now COHORT.

    With --format json the progress lines go to stderr and stdout holds one JSON array of the
    cohorts' results.
    """
    import datetime as dt

    from cohortops.operations.scheduled_runs import reports_json, run_due

    as_json = fmt == "json"
    code = run_due(
        app,
        now=dt.datetime.now(dt.UTC),
        targets=now_cohorts,
        manual=bool(now_cohorts),
        echo=lambda line: click.echo(line, err=as_json),
        overrides=overrides_given(flags),
        on_reports=(lambda reports: click.echo(reports_json(reports))) if as_json else None,
    )
    sys.exit(code)
