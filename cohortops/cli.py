"""The command line: a thin layer over :mod:`cohortops.operations.context`. The only module that imports click.

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


def cohort_option(f: Any) -> Any:
    return click.option(
        "--cohort",
        "cohorts",
        multiple=True,
        metavar="COHORT",
        help="Limit to this cohort id (repeatable).",
    )(f)


FORMAT = click.Choice(["text", "markdown", "json"])


def _render(plan: Any, fmt: str) -> str:
    from cohortops.plan import render

    return render(plan, fmt, color=fmt == "text" and sys.stdout.isatty())


@cli.command()
@config_option
@cohort_option
@click.option("--format", "fmt", type=FORMAT, default="text", help="Output format.")
@click.option("--out", type=click.Path(path_type=Path), help="Save the plan to this file.")
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none."
)
@click.option("--engine", type=click.Choice(["duckdb", "python"]), default="duckdb", hidden=True)
def plan(
    config_path: Path | None,
    cohorts: tuple[str, ...],
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    engine: str,
) -> None:
    """Show who enters and leaves each cohort: desired members vs recorded state."""
    from cohortops.operations.context import App

    app = App(config_path, engine=engine)
    with app.store() as store:
        the_plan = app.plan(store, cohorts)
    if out is not None:
        from cohortops.plan.planfile import write_plan

        write_plan(the_plan, out)
    click.echo(_render(the_plan, fmt), nl=False)
    if out is not None and fmt == "text":
        click.echo(f"\nSaved the plan to {out}. Apply exactly it with `cohortops apply {out}`.")
    if the_plan.has_errors:
        sys.exit(1)
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(2)


@cli.command()
@config_option
@click.argument("planfile", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=FORMAT, default="text", help="Output format.")
def show(config_path: Path | None, planfile: Path, fmt: str) -> None:
    """Render a saved plan file (with -c: say whether the configuration changed since)."""
    from cohortops.plan.planfile import read_plan

    saved = read_plan(planfile)
    click.echo(_render(saved, fmt), nl=False)
    if config_path is not None:
        from cohortops.config import load_config

        if load_config(config_path).digest != saved.config_digest:
            click.echo(
                f"Note: {config_path} changed since this plan was made; apply carries out the "
                "plan as saved, and refuses it if its endpoints or keys changed.",
                err=True,
            )


OVERRIDES = (
    ("--allow-mass-removal", "Apply even when a cohort loses more than max_remove_percent."),
    ("--allow-empty", "Apply even when a source is empty and would empty its cohort."),
    ("--allow-destroy", "Apply the removal of cohorts deleted from the configuration."),
    ("--allow-overflow", "Apply even when users would exceed an attribute's array length."),
)


def override_options(f: Any) -> Any:
    for flag, text in OVERRIDES:
        f = click.option(flag, is_flag=True, help=text)(f)
    return f


@cli.command()
@config_option
@cohort_option
@click.argument("planfile", type=click.Path(path_type=Path), required=False)
@click.option("--auto-approve", is_flag=True, help="Skip the interactive 'yes'.")
@override_options
@click.option("--engine", type=click.Choice(["duckdb", "python"]), default="duckdb", hidden=True)
def apply(
    config_path: Path | None,
    cohorts: tuple[str, ...],
    planfile: Path | None,
    auto_approve: bool,
    engine: str,
    **flags: bool,
) -> None:
    """Carry out a plan against Braze: the saved PLANFILE, or a fresh one after you approve it."""
    from cohortops.operations.apply_run import apply_command
    from cohortops.operations.context import App

    overrides = frozenset("--" + k.replace("_", "-") for k, v in flags.items() if v)

    def confirm(text: str) -> bool:
        click.echo(text, nl=False)
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            raise CohortopsError(
                "Refusing to apply without approval: no terminal to ask on. Pass "
                "--auto-approve, or save a plan with `plan --out` and apply that file."
            )
        answer = click.prompt(
            "\nDo you want to apply these changes? Only 'yes' will be accepted", default=""
        )
        return bool(answer.strip() == "yes")

    app = App(config_path, engine=engine)
    for line in apply_command(app, planfile, cohorts, overrides, confirm, _render):
        click.echo(line)


@cli.command()
@config_option
@click.option(
    "--now",
    "now_cohorts",
    multiple=True,
    metavar="COHORT",
    help="Run this cohort now, whatever its schedule (repeatable).",
)
@override_options
def run(config_path: Path | None, now_cohorts: tuple[str, ...], **flags: bool) -> None:
    """Apply the cohorts whose schedule is due (for cron or a CI schedule), or --now COHORT."""
    import datetime as dt

    from cohortops.operations.context import App
    from cohortops.operations.scheduled_runs import run_due

    overrides = frozenset("--" + k.replace("_", "-") for k, v in flags.items() if v)
    code = run_due(
        App(config_path),
        now=dt.datetime.now(dt.UTC),
        targets=now_cohorts,
        manual=bool(now_cohorts),
        echo=click.echo,
        overrides=overrides,
    )
    sys.exit(code)


@cli.group()
def state() -> None:
    """Inspect and repair the recorded state."""


@state.command("list")
@config_option
def state_list(config_path: Path | None) -> None:
    """Cohorts in the state with their member counts."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import state_list_lines

    app = App(config_path)
    with app.store() as store:
        for line in state_list_lines(store):
            click.echo(line)


@state.command("show")
@config_option
@click.argument("cohort")
@click.option("--limit", type=int, default=20, help="Members to list (0 = all).")
def state_show(config_path: Path | None, cohort: str, limit: int) -> None:
    """One cohort's record: serial, last apply, members."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import state_show_lines

    app = App(config_path)
    with app.store() as store:
        for line in state_show_lines(store, cohort, limit):
            click.echo(line)


@state.command("forget")
@config_option
@click.argument("cohort")
def state_forget(config_path: Path | None, cohort: str) -> None:
    """Drop COHORT from the state without touching Braze."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import forget

    app = App(config_path)
    with app.store() as store:
        click.echo(forget(store, cohort, app.actor()))


@state.command("unlock")
@config_option
@click.argument("lock_id")
def state_unlock(config_path: Path | None, lock_id: str) -> None:
    """Remove the state lock LOCK_ID left by a holder that is gone."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import unlock

    app = App(config_path)
    with app.store() as store:
        click.echo(unlock(store, lock_id, app.actor()))


@cli.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("log")
@config_option
@click.option("--cohort", default=None, metavar="COHORT", help="Only entries of this cohort.")
@click.option("--since", default=None, help="Only entries at or after this date (YYYY-MM-DD).")
def audit_log(config_path: Path | None, cohort: str | None, since: str | None) -> None:
    """Audit entries, oldest first."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import audit_lines

    app = App(config_path)
    with app.store() as store:
        for line in audit_lines(store, cohort, since):
            click.echo(line)


@audit.command("verify")
@config_option
def audit_verify(config_path: Path | None) -> None:
    """Check the hash chain; name the first edited or missing entry."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import verify

    app = App(config_path)
    with app.store() as store:
        click.echo(verify(store))


@audit.command("member")
@config_option
@click.argument("member_id")
def audit_member(config_path: Path | None, member_id: str) -> None:
    """When, and by which change, MEMBER_ID entered or left each cohort."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import member_lines

    app = App(config_path)
    with app.store() as store:
        for line in member_lines(store, member_id):
            click.echo(line)


@audit.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl")
def audit_export(config_path: Path | None, fmt: str) -> None:
    """Every audit entry as JSON lines."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import export_jsonl

    app = App(config_path)
    with app.store() as store:
        for line in export_jsonl(store):
            click.echo(line)


@cli.command()
@config_option
@click.argument("cohort", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Newest runs to show.")
def history(config_path: Path | None, cohort: str | None, fmt: str, limit: int) -> None:
    """Run history: each apply per cohort with its trigger, result and counts."""
    from cohortops.operations.context import App
    from cohortops.operations.reports import history_lines

    app = App(config_path)
    with app.store() as store:
        for line in history_lines(store, cohort, fmt, limit):
            click.echo(line)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=4400, show_default=True)
@click.option("--api-key", default="sandbox-key", show_default=True)
@click.option("--users", "users_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--rate-limit", type=int, default=None, help="Requests per window (default: none).")
@click.option("--window", type=float, default=3.0, show_default=True, help="Window seconds.")
@click.option("--latency-ms", type=float, default=0.0, show_default=True)
@click.option("--fault-rate", type=float, default=0.0, show_default=True, help="5xx rate, 0-1.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--state", "state_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--sink", is_flag=True, help="Record membership only (for load tests).")
def sandbox(
    host: str,
    port: int,
    api_key: str,
    users_file: Path | None,
    rate_limit: int | None,
    window: float,
    latency_ms: float,
    fault_rate: float,
    seed: int,
    state_file: Path | None,
    sink: bool,
) -> None:
    """Serve a Braze-compatible API locally until Ctrl-C."""
    from cohortops.sandbox import ALL_PERMISSIONS, SandboxConfig, serve_forever

    config = SandboxConfig(
        api_keys={api_key: ALL_PERMISSIONS},
        rate_limit=rate_limit,
        rate_window_seconds=window,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        seed=seed,
        users_file=users_file,
        state_file=state_file,
        sink=sink,
    )

    def ready(url: str) -> None:
        click.echo(f"Braze sandbox listening on {url} (API key: {api_key}). Ctrl-C stops it.")

    serve_forever(config, host, port, on_ready=ready)


@cli.command()
@config_option
@cohort_option
@click.option("--sample", type=int, default=1000, show_default=True, help="Members per cohort.")
@click.option("--all", "check_all", is_flag=True, help="Check every recorded member (slow).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when drift is found.")
def drift(
    config_path: Path | None,
    cohorts: tuple[str, ...],
    sample: int,
    check_all: bool,
    detailed_exitcode: bool,
) -> None:
    """Compare recorded members with what Braze holds (unknown users, dropped values)."""
    from cohortops.operations.context import App
    from cohortops.operations.drift_check import check_cohort, drift_lines

    app = App(config_path)
    with app.store() as store:
        targets = cohorts or tuple(sorted(store.snapshot().cohorts))
        results = [
            check_cohort(store, app.config, c, sample=None if check_all else sample)
            for c in targets
        ]
    click.echo("Drift between the state and Braze:")
    for line in drift_lines(results):
        click.echo(line)
    if detailed_exitcode and any(r.drifted for r in results):
        sys.exit(2)


@cli.command()
@config_option
def demo(config_path: Path | None) -> None:
    """Run validate, plan, apply and plan again against a local Braze sandbox."""
    from cohortops.operations.demo import run_demo

    run_demo(config_path or Path("configs"), click.echo)


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
