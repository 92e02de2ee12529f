"""audit log|verify|member|export: the append-only, hash-chained audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cohortops.cli.root import cli, config_option, pass_app, report_format_option

if TYPE_CHECKING:  # imported when a command runs: `--help` and `schema` stay light
    from cohortops.operations.context import App


@cli.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("log")
@config_option
@click.option("--cohort", default=None, metavar="COHORT", help="Only entries of this cohort.")
@click.option("--since", default=None, help="Only entries at or after this date (YYYY-MM-DD).")
@report_format_option
@pass_app
def audit_log(app: App, cohort: str | None, since: str | None, fmt: str) -> None:
    """Audit entries, oldest first."""
    from cohortops.operations.audit_report import audit_lines

    with app.store(create=False) as store:
        for line in audit_lines(store, cohort, since, fmt):
            click.echo(line)


@audit.command("verify")
@config_option
@click.option(
    "--head",
    "head",
    default=None,
    metavar="HASH",
    help="An audit head recorded elsewhere (printed after each apply): it must be in the chain.",
)
@pass_app
def audit_verify(app: App, head: str | None) -> None:
    """Check the hash chain; name the first edited or missing entry."""
    from cohortops.operations.audit_report import verify

    with app.store(create=False) as store:
        click.echo(verify(store, head))


@audit.command("member")
@config_option
@click.argument("member_id")
@pass_app
def audit_member(app: App, member_id: str) -> None:
    """When, and by which change, MEMBER_ID entered or left each cohort."""
    from cohortops.operations.audit_report import member_lines

    with app.store(create=False) as store:
        for line in member_lines(store, member_id):
            click.echo(line)


@audit.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl")
@pass_app
def audit_export(app: App, fmt: str) -> None:
    """Every audit entry as JSON lines."""
    from cohortops.operations.audit_report import export_jsonl

    with app.store(create=False) as store:
        for line in export_jsonl(store):
            click.echo(line)
