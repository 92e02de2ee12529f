"""plan and show: who enters and leaves each cohort, fresh or from a saved plan file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import (
    FORMAT,
    cli,
    cohort_option,
    config_option,
    engine_option,
    invocation,
    pass_app,
    render,
)
from cohortops.errors import CohortopsError, PlanError

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


@cli.command()
@config_option
@cohort_option
@click.option("--format", "fmt", type=FORMAT, default="text", help="Output format.")
@click.option("--out", type=click.Path(path_type=Path), help="Save the plan to this file.")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none."
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Read Braze (cohorts with braze_segment) and plan against what it holds; writes nothing.",
)
@click.option(
    "--check",
    is_flag=True,
    help="First prove each destination's endpoint and keys with requests that change nothing.",
)
@engine_option
@pass_app
def plan(
    app: App,
    cohorts: tuple[str, ...],
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    refresh: bool,
    check: bool,
) -> None:
    """Show who enters and leaves each cohort: desired members vs recorded state."""
    if out is not None and not out.parent.is_dir():
        raise PlanError(
            f"Cannot save the plan to {out}: the directory {out.parent} does not exist.",
            hint="Create it first, or pass --out a path in an existing directory.",
        )
    if check:
        from cohortops.operations.check import run_checks

        results = list(run_checks(app.config))
        for result in results:
            click.echo(result.line(), err=True)
        failed = [r for r in results if not r.ok]
        if failed:
            raise PlanError(
                f"{len(failed)} of {len(results)} check(s) failed ({failed[0].what}: "
                f"{failed[0].detail}); no plan was made."
            )
    drift: list[str] = []
    with app.store(create=False) as store:
        if refresh:
            from cohortops.operations.refresh import drift_lines, plan_refreshed

            if out is not None:
                raise CohortopsError(
                    "A refreshed plan cannot be saved: its recorded sets come from Braze, not "
                    "the state. Use `cohortops apply --refresh`."
                )
            refreshed = plan_refreshed(app, store, cohorts)
            the_plan = refreshed.plan
            drift = list(drift_lines(refreshed))
        else:
            the_plan = app.plan(store, cohorts)
    click.echo(render(the_plan, fmt), nl=False)
    for line in drift:
        click.echo(line, err=fmt != "text")
    if the_plan.has_errors:
        # Not a plan: no file (a stale one from an earlier run is removed), errors on stderr.
        if out is not None:
            out.unlink(missing_ok=True)
        for cp in the_plan.cohorts:
            if cp.errored is not None:
                click.echo(
                    f"Error: cohort {cp.cohort_id} could not be planned: {cp.errored}", err=True
                )
        saved = f" No plan file was written to {out}." if out is not None else ""
        click.echo(f"The plan is incomplete; fix the causes above and plan again.{saved}", err=True)
        sys.exit(1)
    if out is not None:
        from cohortops.plan.planfile import signing_line, write_plan

        signed = write_plan(the_plan, out)
        # JSON and markdown stay machine-readable: the signing note goes to stderr there.
        click.echo(signing_line(signed, signed), err=fmt != "text")
    if out is not None and fmt == "text":
        click.echo(f"\nSaved the plan to {out}. Apply exactly it with `cohortops apply {out}`.")
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(2)


@cli.command()
@config_option
@click.argument("planfile", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=FORMAT, default="text", help="Output format.")
@click.pass_context
def show(ctx: click.Context, planfile: Path, fmt: str) -> None:
    """Render a saved plan file (with -c: say whether the configuration changed since)."""
    from cohortops.plan.planfile import read_plan_checked

    saved, signing = read_plan_checked(planfile)
    if fmt != "json":
        click.echo(signing)
    click.echo(render(saved, fmt), nl=False)
    given = invocation(ctx)
    if given.config_path is not None and given.app().config.digest != saved.config_digest:
        click.echo(
            f"Note: {given.config_path} changed since this plan was made; apply carries out the "
            "plan as saved, and refuses it if its endpoints or keys changed.",
            err=True,
        )
