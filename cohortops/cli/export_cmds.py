"""export: members, runs and audit entries as files or warehouse tables (docs/state.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cohortops.cli.root import cli, config_option, pass_app

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


@cli.command("export")
@config_option
@click.argument("kind", type=click.Choice(["members", "runs", "audit"]))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "jsonl"]),
    default="csv",
    show_default=True,
    help="File format (ignored with --to).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file (default: standard output).",
)
@click.option(
    "--to",
    "to_url",
    default=None,
    metavar="URL",
    help="Load into a table instead: postgresql://... or duckdb:///path.db; ${env:NAME} allowed.",
)
@click.option(
    "--table", default=None, metavar="NAME", help="Target table of --to (NAME or SCHEMA.NAME)."
)
@pass_app
def export(
    app: App, kind: str, fmt: str, out: Path | None, to_url: str | None, table: str | None
) -> None:
    """Export current members, runs or audit entries.

    With --to, runs and audit entries load incrementally: only rows newer than the table's
    newest are added; members replace the table's rows.
    """
    from cohortops.config.model import Secret
    from cohortops.errors import CohortopsError
    from cohortops.operations.exports import export_table, load_sql, write_file

    if (to_url is None) != (table is None):
        raise CohortopsError(
            "--to and --table go together.", hint="e.g. --to duckdb:///w.db --table runs"
        )
    with app.store() as store:
        if to_url is not None and table is not None:
            url = Secret(to_url, "--to").reveal()
            rows = load_sql(store, kind, url, table)  # type: ignore[arg-type]
            click.echo(f"Loaded {rows:,} {kind} rows into {table}.", err=True)
            return
        data = export_table(store, kind)  # type: ignore[arg-type]
        write_file(data, fmt, out if out is not None else sys.stdout.buffer)  # type: ignore[arg-type]
