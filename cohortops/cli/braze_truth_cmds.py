"""import and cancel: adopt what Braze holds for a cohort; stop a running apply."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import cli, config_option, pass_app
from cohortops.errors import CohortopsError

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


@cli.command("import")
@config_option
@click.argument("cohort")
@click.option(
    "--from-segment",
    is_flag=True,
    help="Read the cohort's braze_segment export (the default when braze_segment is set).",
)
@click.option(
    "--from",
    "from_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A downloaded segment export (ZIP, GZIP, JSON lines) or a CSV with a header row.",
)
@click.option("--replace", is_flag=True, help="Overwrite a non-empty recorded member set.")
@pass_app
def import_(
    app: App, cohort: str, from_segment: bool, from_file: Path | None, replace: bool
) -> None:
    """Record who Braze holds now as COHORT's members (Terraform's import)."""
    from cohortops.operations.import_members import import_cohort

    if from_segment and from_file is not None:
        raise CohortopsError("Pass --from-segment or --from FILE, not both.")
    with app.store() as store:
        result = import_cohort(
            app.config, store, cohort, app.actor().who, from_file=from_file, replace=replace
        )
    click.echo(result.line())


@cli.command()
@config_option
@click.argument("apply_id", required=False)
@pass_app
def cancel(app: App, apply_id: str | None) -> None:
    """Ask a running apply (the latest, or APPLY_ID) to stop as Ctrl-C does."""
    from cohortops.operations.cancel import cancel_apply

    with app.store() as store:
        click.echo(cancel_apply(store, apply_id, app.actor().who))
