"""Where a configuration's state lives, and how a plan names it.

One project, one state: the default SQLite file sits beside the configuration
(``<config dir>/.cohortops/state.db``; for ``-c file.yaml`` the directory of that file), never in
the working directory. ``COHORTOPS_STATE_URL`` supplies the state of a configuration without a
``state:`` block; a ``state:`` block always wins.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from cohortops.config import Config
from cohortops.config.model import Secret, StateConfig
from cohortops.errors import StateError

ENV_VAR = "COHORTOPS_STATE_URL"
STATE_DIR = ".cohortops"
DEFAULT_NAME = "state.db"

Origin = Literal["state block", "environment", "default"]


@dataclass(frozen=True)
class StateLocation:
    """The state one configuration uses: resolved settings, where from, and its display name."""

    state: StateConfig  # sqlite: absolute path; postgres: url
    origin: Origin
    base: Path  # the configuration directory: default sqlite file and the PostgreSQL cache
    where: str  # "sqlite .cohortops/state.db" (relative to base) or "postgresql://u:***@h/db ..."

    @property
    def origin_text(self) -> str:
        if self.origin == "environment":
            return f"from {ENV_VAR}"
        if self.origin == "state block":
            return "from the state: block"
        return "default, beside the configuration"

    def describe(self) -> str:
        """One line for plans: the state and which setting chose it."""
        return f"{self.where} ({self.origin_text})"

    def shown_path(self, cwd: Path | None = None) -> str:
        """Where a person finds the state from ``cwd``: a relative path when it is shorter."""
        if self.state.backend != "sqlite" or self.state.path is None:
            return self.where
        return _relative(self.state.path, Path.cwd() if cwd is None else cwd)


def config_dir(config: Config) -> Path:
    root = config.root
    return (root if root.is_dir() else root.parent).resolve()


def locate_state(config: Config, environ: Mapping[str, str] | None = None) -> StateLocation:
    env = os.environ if environ is None else environ
    base = config_dir(config)
    state = config.state
    if state != StateConfig():  # a state: block, or a state given by the caller (demo, tests)
        origin: Origin = "state block"
    elif env.get(ENV_VAR):
        origin = "environment"
        state = _from_env(env[ENV_VAR])
    else:
        origin = "default"
    if state.backend == "sqlite":
        path = state.path if state.path is not None else Path(STATE_DIR) / DEFAULT_NAME
        path = (path if path.is_absolute() else base / path).resolve()
        state = StateConfig("sqlite", path, None, state.location)
        return StateLocation(state, origin, base, f"sqlite {_relative(path, base)}")
    return StateLocation(state, origin, base, postgres_where(state, env))


def _from_env(value: str) -> StateConfig:
    if not value.startswith(("postgresql://", "postgres://")):
        raise StateError(
            f"{ENV_VAR} must be a postgresql:// URL (got a value starting {value[:12]!r}).",
            hint=f"Set {ENV_VAR}=postgresql://USER:PASSWORD@HOST:5432/DATABASE, or unset it.",
        )
    return StateConfig("postgres", None, Secret("${env:" + ENV_VAR + "}", ENV_VAR))


def postgres_where(state: StateConfig, environ: Mapping[str, str]) -> str:
    """``postgresql://user:***@host:port/db schema NAME``: the password never shows."""
    if state.url is None:
        return "postgres (no url)"
    from psycopg import conninfo

    try:
        params = conninfo.conninfo_to_dict(state.url.reveal(environ))
    except Exception:  # an invalid URL is reported by open_store; the plan names what it can
        return "postgres (unreadable url)"
    user = params.get("user")
    auth = f"{user}{':***' if params.get('password') else ''}@" if user else ""
    host = params.get("host") or params.get("hostaddr") or "localhost"
    schema = schema_of(str(params.get("options") or ""))
    return f"postgresql://{auth}{host}:{params.get('port') or 5432}/{params.get('dbname') or '?'} schema {schema}"


def schema_of(options: str) -> str:
    """The schema a ``-csearch_path=...`` option selects (``public`` when none)."""
    try:
        words = shlex.split(unquote(options))
    except ValueError:
        words = options.split()
    for i, word in enumerate(words):
        setting = word[2:] if word.startswith("-c") else None
        if setting == "" and i + 1 < len(words):
            setting = words[i + 1]
        if setting and setting.replace(" ", "").startswith("search_path="):
            first = setting.split("=", 1)[1].split(",")[0].strip().strip('"')
            if first and not first.startswith("$"):
                return first
    return "public"


def check_old_place(location: StateLocation, cwd: Path | None = None) -> None:
    """Refuse, with the one command that moves it, a state left in the working directory.

    Older versions kept the default state in ``./.cohortops/`` of whatever directory cohortops
    ran in. Such a state is never used silently: it may be this project's (move it) or another
    project's (then it belongs beside that one).
    """
    if location.origin != "default" or location.state.path is None:
        return
    here = (Path.cwd() if cwd is None else cwd).resolve()
    old_dir = here / STATE_DIR
    old = old_dir / DEFAULT_NAME
    new = location.state.path
    if not old.is_file() or old.resolve() == new or new.exists():
        return
    moving = [p for p in (old, old_dir / "state.snapshots") if p.exists()]
    target = _relative(new.parent, here)
    names = " ".join(shlex.quote(_relative(p, here)) for p in moving)
    raise StateError(
        f"Found a state in the working directory ({_relative(old, here)}), where older "
        f"cohortops versions kept it; this configuration's state is {_relative(new, here)}, "
        "and cohortops never uses a state from the working directory. If it belongs to another "
        "project, move it beside that project's configuration; if it is this project's, move "
        f"it: mkdir -p {shlex.quote(target)} && mv {names} {shlex.quote(target)}/"
    )


def _relative(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:
        return str(path)
