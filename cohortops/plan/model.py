"""The frozen plan: everything ``apply`` needs to carry out the change without the config.

A plan never holds a resolved secret: the applier looks the API keys up through the connection
and destination ids at apply time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cohortops.config.model import DeliveryMethod, IdentifierKind
from cohortops.membership import IdArray
from cohortops.membership.spilled import empty_ids
from cohortops.sources.issues import SourceIssue

FORMAT_VERSION = 1

ChangeKind = Literal["create", "update", "rename", "destroy", "noop"]
"""What a plan does to one cohort as a whole (its members change by ``MemberOp``)."""
Severity = Literal["block", "warn"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("create", "update", "rename", "destroy", "noop")
SEVERITIES: tuple[Severity, ...] = ("block", "warn")

COHORT_IMPORT_BATCH = 1000  # identifiers per partner cohort request (Braze's limit)


def attribute_key(destination: str, attribute: str) -> str:
    """The key of one array attribute on one destination (the keys of ``overflow`` facts)."""
    return f"{destination}/{attribute}"


def normalize_flag(flag: str) -> str:
    """``allow_mass_removal``, ``allow-mass-removal`` and ``--allow-mass-removal`` are one flag."""
    return "--" + flag.strip().lstrip("-").replace("_", "-")


@dataclass(frozen=True)
class OverflowFact:
    """Users whose desired values of one array attribute exceed its ``max_array_length``.

    Computed by the diff engine over every cohort sharing the attribute (see ``attribute_key``).
    """

    attribute_key: str
    limit: int
    users_over: int
    sample: tuple[str, ...]
    max_memberships: int


@dataclass(frozen=True)
class Guard:
    """A safety check: ``block`` stops ``apply`` for ``cohorts`` unless ``override`` is given."""

    id: str
    kind: str
    severity: Severity
    reason: str
    cohorts: tuple[str, ...]
    override: str | None = None  # the CLI flag that unblocks it, e.g. "--allow-mass-removal"

    @property
    def cohort(self) -> str | None:
        return self.cohorts[0] if len(self.cohorts) == 1 else None


@dataclass(frozen=True)
class PlanWarning:
    message: str
    cohort: str | None = None


@dataclass(frozen=True)
class Cost:
    requests: int = 0
    data_points: int = 0
    seconds: float = 0.0
    requests_per_second: float = 0.0
    note: str | None = None


@dataclass(frozen=True)
class CohortPlan:
    """One cohort's change. ``to_add``/``to_remove`` are sorted pyarrow string arrays.

    ``remote_id`` is the Braze-side identity (the cohort import ``cohort_id`` or the array value
    of an attribute); it stays what it was at creation across renames. With ``baseline`` the
    members in ``to_add`` are recorded in the state without being sent.
    """

    cohort_id: str
    remote_id: str
    name: str
    action: ChangeKind
    connection: str
    destination: str
    partner: str
    method: DeliveryMethod
    identifier: IdentifierKind
    attribute: str | None = None
    alias_label: str | None = None
    update_existing_only: bool = True
    batch_size: int = 75
    to_add: IdArray = field(default_factory=empty_ids)
    to_remove: IdArray = field(default_factory=empty_ids)
    baseline: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    settings_diff: tuple[str, ...] = ()
    moved_from: str | None = None
    needs_remote_create: bool = False
    needs_remote_rename: bool = False
    blocked_by: tuple[str, ...] = ()
    errored: str | None = None
    desired_count: int = 0
    recorded_count: int = 0
    source_issues: tuple[SourceIssue, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)
    duplicates: int = 0
    cost: Cost = field(default_factory=Cost)
    kept: int = 0  # removal: additive — members who left the source and are not removed

    @property
    def adds(self) -> int:
        return len(self.to_add)

    @property
    def removes(self) -> int:
        return len(self.to_remove)

    @property
    def sent_adds(self) -> int:
        return 0 if self.baseline else self.adds

    @property
    def is_change(self) -> bool:
        return self.errored is None and self.action != "noop"


@dataclass(frozen=True)
class Summary:
    cohorts_to_create: int = 0
    cohorts_to_update: int = 0
    cohorts_to_rename: int = 0
    cohorts_to_destroy: int = 0
    cohorts_unchanged: int = 0
    cohorts_errored: int = 0
    members_to_add: int = 0
    members_to_remove: int = 0
    members_baseline: int = 0
    requests: int = 0
    data_points: int = 0
    seconds: float = 0.0
    rates: tuple[float, ...] = ()  # the distinct requests_per_second of destinations with requests

    @property
    def cohorts_to_change(self) -> int:
        return (
            self.cohorts_to_create
            + self.cohorts_to_update
            + self.cohorts_to_rename
            + self.cohorts_to_destroy
        )


@dataclass(frozen=True)
class Plan:
    created_at: dt.datetime
    config_digest: str
    lineage: str
    serial: int
    cohorts: tuple[CohortPlan, ...] = ()
    guards: tuple[Guard, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    summary: Summary = field(default_factory=Summary)
    targets: tuple[str, ...] | None = None
    format_version: int = FORMAT_VERSION
    wiring: str = ""  # digest of the endpoints and credential references (plan/wiring.py)
    state_where: str = ""  # the state it was made against, e.g. "sqlite .cohortops/state.db (...)"
    state_missing: bool = False  # no state existed yet: planned from empty

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.cohorts)

    @property
    def has_errors(self) -> bool:
        return any(c.errored is not None for c in self.cohorts)

    def cohort(self, cohort_id: str) -> CohortPlan:
        for c in self.cohorts:
            if c.cohort_id == cohort_id:
                return c
        raise KeyError(cohort_id)

    def guard(self, guard_id: str) -> Guard:
        for g in self.guards:
            if g.id == guard_id:
                return g
        raise KeyError(guard_id)

    def blocking_guards(self, overrides: frozenset[str] = frozenset()) -> tuple[Guard, ...]:
        given = {normalize_flag(o) for o in overrides}
        return tuple(
            g
            for g in self.guards
            if g.severity == "block" and (g.override is None or g.override not in given)
        )

    def blocked_cohorts(self, overrides: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """Cohorts ``apply`` must refuse: a blocking guard applies and its flag was not given."""
        blocking = {g.id for g in self.blocking_guards(overrides)}
        return tuple(
            c.cohort_id
            for c in self.cohorts
            if c.errored is None and any(b in blocking for b in c.blocked_by)
        )
