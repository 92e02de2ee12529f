"""The command line: click parses, :mod:`cohortops.operations` does the work.

The only package that imports click. ``root`` holds the group, the shared options and the one
:class:`~cohortops.operations.context.App` per invocation; each ``*_cmds`` module registers one
group of commands on it; ``main`` maps errors to exit codes.
"""

from cohortops.cli import (  # noqa: F401  (importing registers the commands)
    apply_cmds,
    audit_cmds,
    braze_truth_cmds,
    config_cmds,
    export_cmds,
    inspect_cmds,
    plan_cmds,
    sandbox_cmds,
    state_cmds,
    ui_cmds,
)
from cohortops.cli.main import main
from cohortops.cli.root import cli

__all__ = ["cli", "main"]
