"""state list|show|forget|unlock|push-mirror: inspect and repair the recorded state."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import cli, config_option, pass_app, report_format_option

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


@cli.group()
def state() -> None:
    """Inspect and repair the recorded state."""


@state.command("list")
@config_option
@report_format_option
@pass_app
def state_list(app: App, fmt: str) -> None:
    """Cohorts in the state with their member counts."""
    from cohortops.operations.state_report import state_list_lines

    with app.store(create=False) as store:
        for line in state_list_lines(store, fmt):
            click.echo(line)


@state.command("show")
@config_option
@click.argument("cohort")
@click.option("--limit", type=int, default=20, help="Members to list (0 = all).")
@report_format_option
@pass_app
def state_show(app: App, cohort: str, limit: int, fmt: str) -> None:
    """One cohort's record: serial, last apply, members."""
    from cohortops.operations.state_report import state_show_lines

    with app.store(create=False) as store:
        for line in state_show_lines(store, cohort, limit, fmt):
            click.echo(line)


@state.command("forget")
@config_option
@click.argument("cohort")
@pass_app
def state_forget(app: App, cohort: str) -> None:
    """Drop COHORT from the state without touching Braze."""
    from cohortops.operations.state_report import forget

    with app.store() as store:
        click.echo(forget(store, cohort, app.actor()))


@state.command("push-mirror")
@config_option
@click.argument("cohort")
@pass_app
def state_push_mirror(app: App, cohort: str) -> None:
    """Rebuild COHORT's warehouse mirror (`diff: warehouse`) from the recorded state."""
    from cohortops.operations.push_mirror import push_mirror

    with app.store() as store:
        click.echo(push_mirror(app.config, store, cohort))


@state.command("unlock")
@config_option
@click.argument("lock_id")
@click.option("--force", is_flag=True, help="Unlock even when the holder is alive here.")
@pass_app
def state_unlock(app: App, lock_id: str, force: bool) -> None:
    """Remove the state lock LOCK_ID left by a holder that is gone (audited)."""
    from cohortops.operations.state_report import unlock

    with app.store() as store:
        click.echo(unlock(store, lock_id, app.actor(), force=force))


@state.command("backup")
@config_option
@click.argument("destination", required=False, type=click.Path(path_type=Path))
@pass_app
def state_backup(app: App, destination: Path | None) -> None:
    """Copy the sqlite state and its snapshots into a new directory DESTINATION."""
    from cohortops.operations.state_report import backup_state

    click.echo(backup_state(app, destination))


@state.command("restore")
@config_option
@click.argument("backup", type=click.Path(path_type=Path, exists=True, file_okay=False))
@pass_app
def state_restore(app: App, backup: Path) -> None:
    """Put a backup written by `state backup` in place of the sqlite state (audited)."""
    from cohortops.operations.state_report import restore_state

    click.echo(restore_state(app, backup))
