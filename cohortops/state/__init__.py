"""The state store: what cohortops has confirmed Braze holds, plus audit log and history.

``open_store(config)`` returns a :class:`Store` for the configured backend (SQLite by default,
at ``.cohortops/state.db`` under the working directory, or PostgreSQL). Use it as a context
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
]


def open_store(
    config: StateConfig, *, cwd: Path | None = None, options: StoreOptions | None = None
) -> Store:
    """Open (creating when missing) the state ``config`` describes.

    A relative sqlite ``path`` (and the default one) is taken relative to ``cwd``, which defaults
    to the current directory; the PostgreSQL snapshot cache lives under ``cwd/.cohortops/cache``.
    """
    base = Path.cwd() if cwd is None else cwd
    opts = StoreOptions() if options is None else options
    if config.backend == "sqlite":
        from cohortops.state.sqlite import open_sqlite

        return open_sqlite(config, base, opts)
    if config.backend == "postgres":
        from cohortops.state.postgres import open_postgres

        return open_postgres(config, base, opts)
    raise StateError(
        f"Unknown state backend {config.backend!r}.", hint="Use state.backend: sqlite or postgres."
    )
