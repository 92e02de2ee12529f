"""What the endpoints need from a data model: the full user model or the compact sink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cohortops.sandbox.cohorts import Cohort, CohortChange, CohortRegistry
from cohortops.sandbox.seeds import Seed
from cohortops.sandbox.track import TrackObject
from cohortops.sandbox.users_api import AliasRequest, DeleteRequest, ExportQuery


@dataclass(slots=True)
class WriteStats:
    data_points: int = 0  # attribute writes applied to a profile (what Braze bills)
    changes: int = 0  # writes that changed the stored value
    created: int = 0  # profiles created
    dropped: int = 0  # objects naming an unknown user that Braze silently drops


@dataclass(slots=True)
class CohortStats:
    matched: int = 0  # identifiers that named an existing, eligible user
    skipped: int = 0  # unknown users and device ids of identified users

    def apply(self, cohort: Cohort, change: CohortChange, members: list[Any]) -> None:
        """Add or remove the ``members`` that ``change`` matched, and count the rest skipped."""
        total = len(change.user_ids) + len(change.aliases) + len(change.device_ids)
        self.matched += len(members)
        self.skipped += total - len(members)
        if change.should_remove:
            cohort.members.difference_update(members)
        else:
            cohort.members.update(members)


class Backend(Protocol):
    mode: str
    cohorts: CohortRegistry

    def apply_track(self, objects: list[TrackObject], now: float) -> WriteStats: ...

    def apply_cohort(self, cohort: Cohort, changes: list[CohortChange]) -> CohortStats: ...

    def export(self, query: ExportQuery, now: float) -> tuple[list[dict[str, Any]], list[str]]: ...

    def alias_new(self, requests: list[AliasRequest], now: float) -> int: ...

    def delete(self, request: DeleteRequest) -> int: ...

    def seed(self, seed: Seed) -> int: ...

    def user_count(self) -> int: ...

    def state(self, include_users: bool) -> dict[str, Any]: ...

    def dump(self) -> dict[str, Any]: ...

    def load(self, data: dict[str, Any]) -> None: ...


def cohort_header(cohort: Cohort) -> dict[str, Any]:
    return {
        "partner": cohort.partner,
        "cohort_id": cohort.cohort_id,
        "name": cohort.name,
        "created_at": cohort.created_at,
        "member_count": len(cohort.members),
    }


def dump_cohorts(registry: CohortRegistry) -> list[dict[str, Any]]:
    return [{**cohort_header(c), "members": sorted(c.members)} for c in registry.cohorts.values()]


def load_cohorts(registry: CohortRegistry, raw: list[dict[str, Any]]) -> None:
    for item in raw:
        cohort = registry.upsert(
            str(item["partner"]), str(item["cohort_id"]), str(item["name"]), item["created_at"]
        )
        cohort.members.update(item["members"])
