"""The command line: a thin layer over :mod:`cohortops.app`. The only module that imports click.

One error handler maps every :class:`CohortopsError` to its exit code and a message on stderr,
without a traceback; anything unexpected prints one line and suggests ``--debug``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cohortops import __version__
from cohortops.errors import CohortopsError, Interrupted

CONFIG_HELP = "Config directory or file (default: configs/, env COHORTOPS_CONFIG)."


def config_option(f: Any) -> Any:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=None,
        help=CONFIG_HELP,
    )(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cohortops")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Keep Braze cohort membership equal to what this repository declares."""
    ctx.obj = {"debug": debug}


@cli.command()
@config_option
def validate(config_path: Path | None) -> None:
    """Check the configuration files (schema and rules); report every problem at once."""
    from cohortops.config import load_config

    config = load_config(config_path)
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


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = cli.main(args=argv, prog_name="cohortops", standalone_mode=False)
    except CohortopsError as exc:
        click.echo(f"Error: {exc}" if "\n" not in str(exc) else str(exc), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(Interrupted.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(Interrupted.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the one place that sees unexpected failures
        if debug:
            raise
        click.echo(
            f"Unexpected error: {type(exc).__name__}: {exc}. Re-run with --debug for the "
            "traceback and report it.",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
