"""history and drift: what happened, and whether Braze still agrees with the state."""

from __future__ import annotations

import sys

import click

from cohortops.cli.root import cli, cohort_option, config_option, pass_app, report_format_option
from cohortops.operations.context import App


@cli.command()
@config_option
@click.argument("cohort", required=False)
@report_format_option
@click.option("--limit", type=int, default=50, show_default=True, help="Newest runs to show.")
@pass_app
def history(app: App, cohort: str | None, fmt: str, limit: int) -> None:
    """Run history: each apply per cohort with its trigger, result and counts."""
    from cohortops.operations.history_report import history_lines

    with app.store() as store:
        for line in history_lines(store, cohort, fmt, limit):
            click.echo(line)


@cli.command()
@config_option
@cohort_option
@click.option("--sample", type=int, default=1000, show_default=True, help="Members per cohort.")
@click.option("--all", "check_all", is_flag=True, help="Check every recorded member (slow).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when drift is found.")
@report_format_option
@pass_app
def drift(
    app: App,
    cohorts: tuple[str, ...],
    sample: int,
    check_all: bool,
    detailed_exitcode: bool,
    fmt: str,
) -> None:
    """Compare recorded members with what Braze holds (unknown users, dropped values)."""
    from cohortops.operations.drift_check import check_cohort, drift_json, drift_lines

    with app.store() as store:
        targets = cohorts or tuple(sorted(store.snapshot().cohorts))
        results = [
            check_cohort(store, app.config, c, sample=None if check_all else sample)
            for c in targets
        ]
    if fmt == "json":
        click.echo(drift_json(results))
    else:
        click.echo("Drift between the state and Braze:")
        for line in drift_lines(results):
            click.echo(line)
    if detailed_exitcode and any(r.drifted for r in results):
        sys.exit(2)
