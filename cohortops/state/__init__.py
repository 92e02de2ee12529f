"""The state store: what cohortops has confirmed Braze holds, plus audit log and history.

``open_store(config)`` returns a :class:`Store` for the configured backend (SQLite or
PostgreSQL; :mod:`cohortops.state.location` says where a configuration's state is). Use it as a context
manager; take ``store.lock(...)`` before any write.
"""

from __future__ import annotations

from pathlib import Path

from cohortops.config.model import StateConfig
from cohortops.errors import LockBusyError, StateError
from cohortops.state.logs import (
    ApplyJournal,
    AuditEntry,
    AuditProblem,
    MemberEvent,
    RunRecord,
    RunTrigger,
    StoreOptions,
)
from cohortops.state.snapshot import (
    CohortRecord,
    LockInfo,
    RecordedMembers,
    StateSnapshot,
)
from cohortops.state.store import Store

__all__ = [
    "ApplyJournal",
    "AuditEntry",
    "AuditProblem",
    "CohortRecord",
    "LockBusyError",
    "LockInfo",
    "MemberEvent",
    "RecordedMembers",
    "RunRecord",
    "RunTrigger",
    "StateError",
    "StateSnapshot",
    "Store",
    "StoreOptions",
    "open_store",
    "state_exists",
]


def open_store(
    config: StateConfig,
    *,
    cwd: Path | None = None,
    options: StoreOptions | None = None,
    create: bool = True,
) -> Store:
    """Open the state ``config`` describes, creating it when missing if ``create``.

    A relative sqlite ``path`` (and the default one) is taken relative to ``cwd``, which defaults
    to the current directory; the PostgreSQL snapshot cache lives under ``cwd/.cohortops/cache``.
    Without ``create`` a missing state opens as an empty, unsaved one (lineage ``""``, serial 0)
    and nothing is written: commands that only read never create a state.
    """
    base = Path.cwd() if cwd is None else cwd
    opts = StoreOptions() if options is None else options
    if not create and not state_exists(config, base):
        from cohortops.state.empty import open_empty

        return open_empty(opts)
    if config.backend == "sqlite":
        from cohortops.state.sqlite import open_sqlite

        return open_sqlite(config, base, opts)
    if config.backend == "postgres":
        from cohortops.state.postgres import open_postgres

        return open_postgres(config, base, opts)
    raise StateError(
        f"Unknown state backend {config.backend!r}.", hint="Use state.backend: sqlite or postgres."
    )


def state_exists(config: StateConfig, cwd: Path | None = None) -> bool:
    """Whether the state was created (reads only; creates nothing)."""
    base = Path.cwd() if cwd is None else cwd
    if config.backend == "postgres":
        from cohortops.state.postgres import postgres_exists

        return postgres_exists(config)
    from cohortops.state.sqlite import state_path

    return state_path(config, base).is_file()
