"""The pure planner: configuration, recorded state and member diffs in, a frozen plan out.

No I/O happens here (no files, no network, no clock), so every rule is testable with plain data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from cohortops.config.model import (
    IDENTIFIER_KINDS,
    AttributeDelivery,
    Cohort,
    Config,
    DeliveryMethod,
    Destination,
)
from cohortops.diff.memberdiff import MemberDiff
from cohortops.errors import PlanError
from cohortops.plan.collisions import mark_collisions
from cohortops.plan.cost import estimate
from cohortops.plan.endpoint_digest import wiring_digest
from cohortops.plan.guards import capacity_guards, cohort_guards, overflow_guards
from cohortops.plan.model import (
    COHORT_IMPORT_BATCH,
    ChangeKind,
    CohortPlan,
    Guard,
    OverflowFact,
    Plan,
    PlanWarning,
)
from cohortops.plan.moves import Moves, resolve_moves, select
from cohortops.plan.settings import (
    BASELINE_PENDING,
    cohort_settings,
    identity_changes,
    lookup,
    recorded_settings,
    settings_diff,
)
from cohortops.plan.summary import summarize
from cohortops.state.snapshot import CohortRecord, StateSnapshot

__all__ = ["cohort_settings", "make_plan"]


def make_plan(
    config: Config,
    state: StateSnapshot,
    diffs: Mapping[str, MemberDiff],
    *,
    now: dt.datetime,
    targets: frozenset[str] | None = None,
    source_errors: Mapping[str, str] = {},
    overflow: Mapping[str, OverflowFact] = {},
) -> Plan:
    moves = resolve_moves(config, state)
    selected = select(config, state, targets, moves)
    cohorts: list[CohortPlan] = []
    warnings: list[PlanWarning] = []
    for cid in sorted(config.cohorts):
        if cid in selected:
            cp = _plan_declared(config, state, config.cohorts[cid], diffs, moves, source_errors)
            cohorts.append(cp)
            if cid in moves.warnings:
                warnings.append(PlanWarning(moves.warnings[cid], cid))
            warnings.extend(_declared_warnings(cp))
    for old in sorted(state.cohorts):
        if old in config.cohorts or old in moves.claimed or old not in selected:
            continue
        cp = _plan_destroy(config, state.cohorts[old], diffs)
        cohorts.append(cp)
        if cp.errored is None and cp.method == "cohort_import":
            warnings.append(
                PlanWarning(
                    f"Braze's cohort import API cannot delete cohort {cp.remote_id!r}: its "
                    "members are removed, the empty cohort stays in the Braze dashboard "
                    "(archive it there)",
                    old,
                )
            )
    cohorts = mark_collisions(cohorts, state)
    guards = _guards(config, cohorts, overflow)
    cohorts = _attach(cohorts, guards)
    return Plan(
        created_at=now if now.tzinfo else now.replace(tzinfo=dt.UTC),
        config_digest=config.digest,
        wiring=wiring_digest(config, cohorts),
        lineage=state.lineage,
        serial=state.serial,
        cohorts=tuple(cohorts),
        guards=tuple(guards),
        warnings=tuple(warnings),
        summary=summarize(cohorts),
        targets=tuple(sorted(targets)) if targets is not None else None,
    )


def _plan_declared(
    config: Config,
    state: StateSnapshot,
    cohort: Cohort,
    diffs: Mapping[str, MemberDiff],
    moves: Moves,
    source_errors: Mapping[str, str],
) -> CohortPlan:
    cid = cohort.id
    connection = config.connection_of(cohort)
    destination = config.destination_of(cohort)
    delivery = connection.delivery
    record_id = moves.renames.get(cid, cid if cid in state.cohorts else None)
    record = state.cohorts.get(record_id) if record_id is not None else None
    settings = cohort_settings(config, cohort)
    if record is not None:
        settings["remote_id"] = str(record.settings.get("remote_id", record_id))
    action: ChangeKind = (
        "create" if record is None else "rename" if cid in moves.renames else "update"
    )
    method: DeliveryMethod = delivery.method
    is_attribute = isinstance(delivery, AttributeDelivery)
    creates_users = isinstance(delivery, AttributeDelivery) and delivery.create_missing_users
    batch_size = _batch_size(destination) if is_attribute else COHORT_IMPORT_BATCH
    declared = CohortPlan(
        cohort_id=cid,
        remote_id=str(settings["remote_id"]),
        name=cohort.name,
        action=action,
        connection=connection.id,
        destination=destination.id,
        partner=connection.partner,
        method=method,
        identifier=cohort.identifier,
        attribute=delivery.attribute if isinstance(delivery, AttributeDelivery) else None,
        alias_label=cohort.alias_label,
        update_existing_only=not creates_users,
        batch_size=batch_size,
        settings=settings,
        moved_from=moves.renames.get(cid),
        recorded_count=record.member_count if record is not None else 0,
    )
    error = moves.errors.get(cid) or _identity_error(cid, record_id, record, settings)
    if error is None and cid in source_errors:
        error = f"source failed: {source_errors[cid]}"
    if error is not None:
        return dataclasses.replace(declared, errored=error)
    diff = _diff_for(diffs, cid)
    to_remove, kept = _removal_policy(cohort.removal, diff)
    sdiff: tuple[str, ...] = ()
    recorded = recorded_settings(record.settings) if record is not None else None
    if recorded is not None and recorded != settings:  # deepdiff only when needed: ~ms each
        sdiff = settings_diff(recorded, settings)
    imported = method == "cohort_import"
    needs_create = imported and (record is None or not record.remote_created)
    remote_name = None
    if record is not None:
        remote_name = record.remote_name or record.settings.get("name") or settings["remote_id"]
    needs_rename = imported and not needs_create and cohort.name != remote_name
    pending = record is not None and record.settings.get(BASELINE_PENDING) is True
    baseline = (record is None or pending) and not cohort.backfill_existing
    changed = diff.adds or len(to_remove) or sdiff or needs_create or needs_rename
    if action == "update" and not changed:
        action = "noop"
    cost = estimate(
        method,
        adds=0 if baseline else diff.adds,
        removes=len(to_remove),
        batch_size=batch_size,
        requests_per_second=destination.requests_per_second,
        remote_calls=int(needs_create or needs_rename),
    )
    if destination.kind == "lytics":  # Lytics records, not Braze data points
        cost = dataclasses.replace(cost, data_points=0, note="Lytics collect: no Braze data points")
    return dataclasses.replace(
        declared,
        action=action,
        to_add=diff.to_add,
        to_remove=to_remove,
        kept=kept,
        baseline=baseline,
        settings_diff=sdiff,
        needs_remote_create=needs_create,
        needs_remote_rename=needs_rename,
        desired_count=diff.desired_count,
        source_issues=diff.issues,
        skipped=dict(diff.skipped),
        duplicates=diff.duplicates,
        cost=cost,
    )


def _removal_policy(removal: object, diff: MemberDiff) -> tuple[Any, int]:
    """(members to remove, members kept): ``additive`` cohorts never remove anyone."""
    if removal == "additive" and diff.removes:
        return diff.to_remove.slice(0, 0), diff.removes
    return diff.to_remove, 0


def _identity_error(
    cid: str, record_id: str | None, record: CohortRecord | None, settings: Mapping[str, Any]
) -> str | None:
    if record is None:
        return None
    changes = identity_changes(record.settings, settings)
    if not changes:
        return None
    return (
        f"changing {'; '.join(changes)} of an existing cohort is not supported in place: "
        f"declare a new cohort id with these settings and let {record_id} be destroyed "
        "(or revert the change)"
    )


def _diff_for(diffs: Mapping[str, MemberDiff], cohort_id: str) -> MemberDiff:
    try:
        return diffs[cohort_id]
    except KeyError:
        raise PlanError(
            f"No member diff was computed for cohort {cohort_id}.",
            hint="This is a bug in cohortops; please report it.",
        ) from None


def _plan_destroy(
    config: Config, record: CohortRecord, diffs: Mapping[str, MemberDiff]
) -> CohortPlan:
    old = record.cohort_id
    recorded = record.settings
    connection = config.connections.get(str(recorded.get("connection", "")))
    method = lookup(recorded, ("delivery", "method"))
    if not isinstance(method, str) and connection is not None:
        method = connection.delivery.method
    destination_id = recorded.get("destination") or (connection.destination if connection else "")
    destination = config.destinations.get(str(destination_id))
    attribute = lookup(recorded, ("delivery", "attribute"))
    if not isinstance(attribute, str):
        delivery = connection.delivery if connection else None
        attribute = delivery.attribute if isinstance(delivery, AttributeDelivery) else None
    is_attribute = method == "attribute"
    alias_label = recorded.get("alias_label")
    identifier = recorded.get("identifier", "external_id")
    batch_size = COHORT_IMPORT_BATCH
    if is_attribute:
        batch_size = _batch_size(destination) if destination else 75
    gone = CohortPlan(
        cohort_id=old,
        remote_id=str(recorded.get("remote_id", old)),
        name=str(recorded.get("name", old)),
        action="destroy",
        connection=str(recorded.get("connection") or (connection.id if connection else "")),
        destination=str(destination_id),
        partner=str(recorded.get("partner") or (connection.partner if connection else "")),
        method="attribute" if is_attribute else "cohort_import",
        identifier=next((k for k in IDENTIFIER_KINDS if k == identifier), "external_id"),
        attribute=attribute if is_attribute else None,
        alias_label=None if alias_label is None else str(alias_label),
        update_existing_only=True,  # removing must never create a profile
        batch_size=batch_size,
        settings=dict(recorded),
        recorded_count=record.member_count,
    )
    if connection is None or destination is None:
        missing = "connection" if connection is None else "destination"
        return dataclasses.replace(
            gone,
            errored=(
                f"{old} is gone from the files and its {missing} is no longer declared: restore "
                f"the {missing} to remove its members from Braze, or run `cohortops state "
                f"forget {old}` to drop it from the state without touching Braze"
            ),
        )
    if gone.identifier != identifier:
        return dataclasses.replace(
            gone,
            errored=(
                f"{old} is recorded with identifier {identifier!r}, which cohortops does not "
                f"know: run `cohortops state forget {old}` and remove its members in Braze"
            ),
        )
    diff = _diff_for(diffs, old)
    to_remove, kept = _removal_policy(recorded.get("removal"), diff)
    cost = estimate(
        gone.method,
        adds=0,
        removes=len(to_remove),
        batch_size=batch_size,
        requests_per_second=destination.requests_per_second,
    )
    return dataclasses.replace(gone, to_remove=to_remove, kept=kept, desired_count=0, cost=cost)


def _declared_warnings(cp: CohortPlan) -> list[PlanWarning]:
    if cp.errored is not None or cp.action != "create":
        return []
    if cp.desired_count == 0:
        return [PlanWarning(f"the source of {cp.cohort_id} returned no members", cp.cohort_id)]
    if cp.baseline:
        return [
            PlanWarning(
                f"backfill_existing is false: {cp.adds:,} current members of {cp.cohort_id} are "
                "recorded as the baseline without being sent; only later entries and exits "
                "will be sent",
                cp.cohort_id,
            )
        ]
    return []


def _guards(
    config: Config, cohorts: list[CohortPlan], overflow: Mapping[str, OverflowFact]
) -> list[Guard]:
    found: list[Guard] = []
    for cp in cohorts:
        cohort = config.cohorts.get(cp.cohort_id) if cp.action != "destroy" else None
        found.extend(cohort_guards(cp, cohort.guards if cohort else None))
    found.extend(overflow_guards(cohorts, overflow))
    found.extend(capacity_guards(config, (cp.cohort_id for cp in cohorts)))
    return found


def _attach(cohorts: list[CohortPlan], guards: list[Guard]) -> list[CohortPlan]:
    blocking: dict[str, list[str]] = {}
    for g in guards:
        if g.severity == "block":
            for cid in g.cohorts:
                blocking.setdefault(cid, []).append(g.id)
    return [
        dataclasses.replace(cp, blocked_by=tuple(blocking[cp.cohort_id]))
        if cp.cohort_id in blocking
        else cp
        for cp in cohorts
    ]


def _batch_size(destination: Destination) -> int:
    """Members per request: /users/track objects, or records per Lytics collect request."""
    if destination.kind == "lytics":
        return destination.records_per_request
    return destination.max_objects_per_request
