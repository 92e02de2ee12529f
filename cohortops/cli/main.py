"""The entry point: run the group, map every failure to an exit code and one line on stderr.

A :class:`CohortopsError` prints its message (no traceback); anything unexpected prints one line
and suggests ``--debug``, which works before or after the subcommand.
"""

from __future__ import annotations

import os
import sys

import click

from cohortops.errors import CohortopsError, ConfigError, Interrupted


def main(argv: list[str] | None = None) -> None:
    from cohortops.cli import cli

    args = list(sys.argv[1:] if argv is None else argv)
    # Both work before or after the subcommand; --no-color is NO_COLOR for this process.
    debug = "--debug" in args
    if "--no-color" in args:
        os.environ["NO_COLOR"] = "1"
    args = [a for a in args if a not in ("--debug", "--no-color")]
    try:
        code = cli.main(args=args, prog_name="cohortops", standalone_mode=False)
    except ConfigError as exc:
        # Located problems read like a compiler's, one per line, however many there are.
        text = "\n".join(exc.diagnostics) if exc.diagnostics else f"Error: {exc}"
        click.echo(text, err=True)
        sys.exit(exc.exit_code)
    except CohortopsError as exc:
        click.echo(f"Error: {exc}" if "\n" not in str(exc) else str(exc), err=True)
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
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
