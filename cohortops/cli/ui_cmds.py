"""ui: the read-only dashboard of cohorts, runs, members, saved plans and the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import cli, config_option, pass_app

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


@cli.command()
@config_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; any other than loopback needs --token.",
)
@click.option("--port", default=8400, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A saved plan to show, besides the *.plan files of the project.",
)
@click.option(
    "--token",
    envvar="COHORTOPS_UI_TOKEN",
    default=None,
    help="Every request must carry it (env COHORTOPS_UI_TOKEN); required off loopback.",
)
@pass_app
def ui(app: App, host: str, port: int, plan_file: Path | None, token: str | None) -> None:
    """Serve a read-only dashboard: cohorts, runs, members, saved plans, audit verdict."""
    from cohortops.ui import serve

    serve(app, host=host, port=port, token=token, plan_file=plan_file, echo=click.echo)
