"""validate, schema, init: the configuration files themselves."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import cli, config_option, pass_app, report_format_option
from cohortops.errors import ConfigError

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


@cli.command()
@config_option
@report_format_option
@pass_app
def validate(app: App, fmt: str) -> None:
    """Check the configuration files (schema, rules, file sources' columns); every problem at once."""
    from cohortops.sources.preflight import check_file_sources

    try:
        config = app.config
        problems = check_file_sources(config)
        if problems:
            raise ConfigError(problems[0], tuple(problems))
    except ConfigError as exc:
        if fmt != "json":
            raise
        problems = list(exc.diagnostics) or [exc.message]
        click.echo(json.dumps({"valid": False, "problems": problems}, indent=2))
        sys.exit(exc.exit_code)
    if fmt == "json":
        summary = {
            "valid": True,
            "problems": [],
            "files": [str(f) for f in config.files],
            "destinations": sorted(config.destinations),
            "connections": sorted(config.connections),
            "cohorts": sorted(config.cohorts),
        }
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        f"Configuration valid: {len(config.files)} file(s), {len(config.destinations)} "
        f"destination(s), {len(config.connections)} connection(s), "
        f"{len(config.cohorts)} cohort(s)."
    )


@cli.command()
def schema() -> None:
    """Print the configuration JSON Schema (for editors and CI)."""
    from cohortops.config.schema import schema_text

    click.echo(schema_text(), nl=False)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("configs"))
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def init(directory: Path, force: bool) -> None:
    """Write a commented starter configuration that validates."""
    from cohortops.starter import write_starter

    for written in write_starter(directory, force=force):
        click.echo(f"created {written}")
    click.echo(f"Next: export BRAZE_API_KEY, then `cohortops plan -c {directory}`.")
