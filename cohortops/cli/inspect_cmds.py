"""history and drift: what happened, and whether Braze still agrees with the state."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import cli, cohort_option, config_option, pass_app, report_format_option

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
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

    with app.store(create=False) as store:
        for line in history_lines(store, cohort, fmt, limit):
            click.echo(line)


@cli.command()
@config_option
@cohort_option
@click.option("--sample", type=int, default=1000, show_default=True, help="Members per cohort.")
@click.option("--all", "check_all", is_flag=True, help="Check every recorded member (slow).")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Accepted for compatibility; does nothing (drift exits 2 on drift either way).",
)
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
    """Compare the state with Braze: every member, both ways, where a cohort declares
    braze_segment; a sample of recorded members elsewhere. Records the counts per cohort in
    the audit log (drift.checked). Exits 2 on drift."""
    import json

    from cohortops.operations.drift_record import record
    from cohortops.operations.drift_segment import drift_report

    with app.store(create=False) as store:
        mirrored = {c.id for c in app.config.cohorts.values() if c.braze_segment is not None}
        snapshot = store.snapshot()
        targets = cohorts or tuple(sorted(set(snapshot.cohorts) | mirrored))
        report = drift_report(app.config, store, targets, sample=None if check_all else sample)
        note = record(store, report.rows, app.actor(), snapshot.lineage)
    if note is not None:
        click.echo(note, err=True)
    if fmt == "json":
        click.echo(json.dumps(list(report.rows), indent=2))
    else:
        for line in report.lines:
            click.echo(line)
    if report.drifted:
        sys.exit(2)
