"""The ``cohortops`` group, the options several commands share, and the App they share.

Every command that reads the configuration takes ``-c/--config``; the option only records the
path on the invocation, and :func:`pass_app` builds the one :class:`App` the command receives.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import update_wrapper
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cohortops import __version__

if TYPE_CHECKING:
    from cohortops.operations.context import App
    from cohortops.plan.model import Plan

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_HELP = "Config directory or file (default: configs/, env COHORTOPS_CONFIG)."
FORMAT = click.Choice(["text", "markdown", "json"])
REPORT_FORMAT = click.Choice(["text", "json"])


def report_format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=REPORT_FORMAT,
        default="text",
        show_default=True,
        help="Output format (json: documented keys, for scripts).",
    )(f)


OVERRIDES = (
    ("--allow-mass-removal", "Apply even when a cohort loses more than max_remove_percent."),
    ("--allow-empty", "Apply even when a source is empty and would empty its cohort."),
    ("--allow-destroy", "Apply the removal of cohorts deleted from the configuration."),
    ("--allow-overflow", "Apply even when users would exceed an attribute's array length."),
)


@dataclass
class Invocation:
    """What the options of one command line said, and the App built from it (once)."""

    config_path: Path | None = None
    engine: str = "duckdb"
    _app: App | None = field(default=None, repr=False)

    def app(self) -> App:
        if self._app is None:
            from cohortops.operations.context import App

            self._app = App(self.config_path, engine=self.engine)
        return self._app


def invocation(ctx: click.Context) -> Invocation:
    return ctx.ensure_object(Invocation)


def _remember(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            setattr(invocation(ctx), attr, value)

    return callback


def config_option(f: F) -> F:
    return click.option(
        "-c",
        "--config",
        type=click.Path(path_type=Path),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_remember("config_path"),
        help=CONFIG_HELP,
    )(f)


def engine_option(f: F) -> F:
    return click.option(
        "--engine",
        type=click.Choice(["duckdb", "python"]),
        default="duckdb",
        expose_value=False,
        is_eager=True,
        callback=_remember("engine"),
        hidden=True,
    )(f)


def cohort_option(f: F) -> F:
    return click.option(
        "--cohort",
        "cohorts",
        multiple=True,
        metavar="COHORT",
        help="Limit to this cohort id (repeatable).",
    )(f)


def override_options(f: F) -> F:
    for flag, text in OVERRIDES:
        f = click.option(flag, is_flag=True, help=text)(f)
    return f


def overrides_given(flags: dict[str, bool]) -> frozenset[str]:
    return frozenset("--" + k.replace("_", "-") for k, v in flags.items() if v)


def pass_app(f: Callable[..., Any]) -> Callable[..., Any]:
    """Give the command the invocation's App as its first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        return ctx.invoke(f, invocation(ctx).app(), *args, **kwargs)

    return update_wrapper(wrapper, f)


def use_color(environ: Mapping[str, str], isatty: bool) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set or TERM is dumb."""
    return isatty and "NO_COLOR" not in environ and environ.get("TERM") != "dumb"


def render(plan: Plan, fmt: str) -> str:
    from cohortops.plan import render as render_plan

    color = fmt == "text" and use_color(os.environ, sys.stdout.isatty())
    return render_plan(plan, fmt, color=color)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cohortops")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.option("--no-color", is_flag=True, help="No colour in output (also: NO_COLOR, TERM=dumb).")
def cli(debug: bool, no_color: bool) -> None:
    """Keep Braze cohort membership equal to what this repository declares."""
