"""File sources stay inside the project: the configuration's directory tree.

A source path that resolves (symlinks followed) outside the configuration's directory is refused
unless ``COHORTOPS_SOURCE_ROOTS`` (paths separated by ``os.pathsep``) names a directory that
holds it. ``/proc``, ``/sys`` and ``/dev`` are refused always: a "file" there can be the process
environment (``/proc/self/environ``), with its secrets.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from cohortops.config.rules import Entity
from cohortops.config.yamlpos import Problem

ROOTS_ENV = "COHORTOPS_SOURCE_ROOTS"
NEVER = tuple(Path(p) for p in ("/proc", "/sys", "/dev"))


def forbidden(path: Path) -> Path | None:
    """The system tree ``path`` (resolved) lies in, if it is one never read as a source."""
    resolved = path.resolve()
    for top in NEVER:
        if resolved == top or top in resolved.parents:
            return top
    return None


def allowed_roots(config_root: Path, env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    base = config_root.resolve()
    roots = [base if base.is_dir() else base.parent]
    extra = (env if env is not None else os.environ).get(ROOTS_ENV, "")
    roots += [Path(p).expanduser().resolve() for p in extra.split(os.pathsep) if p.strip()]
    return tuple(roots)


def check_file_sources(
    cohorts: Mapping[str, Entity], config_root: Path, env: Mapping[str, str] | None = None
) -> Iterable[Problem]:
    roots = allowed_roots(config_root, env)
    for entity in cohorts.values():
        file = entity.get("source", "file")
        if not isinstance(file, str) or not file:
            continue
        path = Path(file)
        if not path.is_absolute():
            path = Path(entity.parsed.values[()].file).parent / path
        resolved = path.resolve()
        system = forbidden(resolved)
        if system is not None:
            yield entity.problem(
                f"source file {file!r} is under {system}, which is never read as a source",
                "source",
                "file",
            )
            continue
        if not any(resolved == r or r in resolved.parents for r in roots):
            yield entity.problem(
                f"source file {file!r} resolves to {resolved}, outside the configuration's "
                f"directory {roots[0]}; to allow it, add its directory to {ROOTS_ENV}",
                "source",
                "file",
            )
