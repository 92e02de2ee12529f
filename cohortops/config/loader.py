"""Load a configuration directory (or one file) into the frozen model, or fail with every problem.

Order: find files → parse with positions → schema per file → merge across files (duplicate ids
name both places) → semantic rules → build. Diagnostics are sorted by file and line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cohortops.config.build import build_config
from cohortops.config.confine import check_file_sources
from cohortops.config.model import Config, Location
from cohortops.config.rules import Entity, check_cohorts, check_connections, check_endpoints
from cohortops.config.schema import check_schema
from cohortops.config.yamlpos import Parsed, Problem, format_path, parse_yaml
from cohortops.errors import ConfigError

SECTIONS = ("destinations", "connections", "cohorts")
DEFAULT_CONFIG = "configs"


def default_config_path() -> Path:
    return Path(os.environ.get("COHORTOPS_CONFIG", DEFAULT_CONFIG))


def discover(path: Path) -> list[Path]:
    if not path.exists():
        raise ConfigError(
            f"{path}: no such file or directory; pass -c PATH or set COHORTOPS_CONFIG "
            "(run `cohortops init` to create a starter configuration)"
        )
    if path.is_file():
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix in {".yaml", ".yml"} and not _hidden(p, path)
    )
    if not files:
        raise ConfigError(
            f"{path}: no *.yaml or *.yml files found; run `cohortops init {path}` to create one"
        )
    return files


def _hidden(p: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in p.relative_to(root).parts)


def _display(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _read(p: Path, shown: str) -> tuple[str | None, list[Problem]]:
    try:
        raw = p.read_bytes()
    except OSError as exc:
        return None, [Problem(Location(shown, 1, 1), (), f"cannot read file: {exc.strerror}")]
    if b"\x00" in raw:
        return None, [Problem(Location(shown, 1, 1), (), "binary file, not YAML; remove it")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(Location(shown, line, 1), (), "not UTF-8 text; save it as UTF-8")]


def load_config(path: Path | None = None) -> Config:
    root = path if path is not None else default_config_path()
    files = discover(root)
    problems: list[Problem] = []
    parsed_files: list[tuple[Path, Parsed]] = []
    digest = hashlib.sha256()
    for p in files:
        shown = _display(p)
        text, read_problems = _read(p, shown)
        problems += read_problems
        if text is None:
            continue
        digest.update(shown.encode() + b"\0" + text.encode() + b"\0")
        parsed, parse_problems = parse_yaml(text, shown)
        problems += parse_problems
        if parsed is None:
            continue
        if not isinstance(parsed.data, Mapping):
            where = parsed.values[()]
            problems.append(Problem(where, (), "a config file must be a mapping of sections"))
            continue
        problems += check_schema(parsed)
        parsed_files.append((p, parsed))

    merged, merge_problems = _merge(parsed_files)
    problems += merge_problems
    problems += check_endpoints(merged["destinations"], merged["connections"])
    problems += check_connections(merged["connections"], merged["destinations"])
    problems += check_cohorts(merged["cohorts"], merged["connections"], merged["destinations"])
    problems += check_file_sources(merged["cohorts"], root)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in {root}", _render(problems))
    return build_config(
        root.resolve(), files, digest.hexdigest(), merged, _state_owner(parsed_files)
    )


def _render(problems: list[Problem]) -> tuple[str, ...]:
    ordered = sorted(set(problems), key=lambda p: (p.location, p.message))
    return tuple(
        f"{p.location}: {format_path(p.path) + ': ' if p.path else ''}{p.message}" for p in ordered
    )


def _merge(
    parsed_files: list[tuple[Path, Parsed]],
) -> tuple[dict[str, dict[str, Entity]], list[Problem]]:
    merged: dict[str, dict[str, Entity]] = {s: {} for s in SECTIONS}
    problems: list[Problem] = []
    has_version = False
    state_at: Location | None = None
    for _, parsed in parsed_files:
        data = parsed.data
        has_version = has_version or "version" in data
        if "state" in data:
            here = parsed.keys[("state",)]
            if state_at is not None:
                problems.append(
                    Problem(here, ("state",), f"state is already declared at {state_at}; keep one")
                )
            state_at = state_at or here
        for section in SECTIONS:
            block = data.get(section)
            if not isinstance(block, Mapping):
                continue
            for key, value in block.items():
                entity = Entity(section, key, value, parsed)
                first = merged[section].get(key)
                if first is not None:
                    where = first.parsed.keys[(section, key)]
                    problems.append(
                        entity.problem(
                            f"duplicate {section[:-1]} id '{key}', also declared at {where}; "
                            "rename one"
                        )
                    )
                    continue
                merged[section][key] = entity
    if parsed_files and not has_version:
        first_file = parsed_files[0][1]
        problems.append(
            Problem(first_file.values[()], (), "missing `version: 1`; add it to one file")
        )
    return merged, problems


def _state_owner(parsed_files: list[tuple[Path, Parsed]]) -> tuple[Path, Parsed] | None:
    for p, parsed in parsed_files:
        if "state" in parsed.data:
            return p, parsed
    return None
