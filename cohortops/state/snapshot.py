"""Plain data the state store hands to the planner and takes from the applier.

The store's layout serves the diff: a cohort's recorded members are a compacted Parquet snapshot
(one string column ``id``, distinct) plus the acknowledged changes recorded since that snapshot.
DuckDB reads the snapshot natively, so the planner never pulls millions of rows through Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cohortops.membership import IdArray


@dataclass(frozen=True)
class RecordedMembers:
    """A cohort's recorded member set: ``snapshot ∪ delta_added - delta_removed``.

    ``delta_added`` and ``delta_removed`` are disjoint (the latest acknowledged change per member
    wins) and are pyarrow string arrays or sequences of ``str``.
    """

    cohort_id: str
    snapshot: Path | None  # parquet file with one column "id"; None when nothing is compacted yet
    delta_added: IdArray | Sequence[str]
    delta_removed: IdArray | Sequence[str]
    count: int


@dataclass(frozen=True)
class CohortRecord:
    """What the state holds about one cohort besides its members."""

    cohort_id: str
    settings: Mapping[str, Any]  # JSON-safe, secret-free snapshot of the cohort's config
    member_count: int
    created_at: dt.datetime
    last_apply_at: dt.datetime | None = None
    remote_created: bool = False  # cohort_import: the Braze cohort exists (create/rename done)
    remote_name: str | None = None


@dataclass(frozen=True)
class StateSnapshot:
    """The read-only view the planner gets: identity plus every cohort's record."""

    lineage: str
    serial: int
    cohorts: Mapping[str, CohortRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class LockInfo:
    id: str
    who: str
    operation: str
    created_at: dt.datetime
    pid: int | None = None
    host: str | None = None

    def describe(self) -> str:
        when = self.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"lock {self.id} held by {self.who} for '{self.operation}' since {when}"
