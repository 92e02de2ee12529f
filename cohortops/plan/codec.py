"""The plan as plain JSON data (member ids aside) and back, for the plan file and the digest.

Raises ``KeyError``/``TypeError``/``ValueError`` on malformed data; the plan file turns those into
one-line ``PlanError`` messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any, TypeVar

from cohortops.config.model import DELIVERY_METHODS, IDENTIFIER_KINDS
from cohortops.membership import IdArray
from cohortops.plan.model import (
    CHANGE_KINDS,
    SEVERITIES,
    CohortPlan,
    Cost,
    Guard,
    Plan,
    PlanWarning,
)
from cohortops.plan.summary import summarize
from cohortops.sources.issues import SourceIssue

MemberLoader = Callable[[int, Mapping[str, Any]], tuple[IdArray, IdArray]]

Choice = TypeVar("Choice", bound=str)


def plan_header(plan: Plan) -> dict[str, Any]:
    """What identifies a plan: its version, time, config digest, state and targets."""
    return {
        "format_version": plan.format_version,
        "created_at": plan.created_at.isoformat(),
        "config_digest": plan.config_digest,
        "state": {
            "lineage": plan.lineage,
            "serial": plan.serial,
            "where": plan.state_where,
            "exists": not plan.state_missing,
        },
        "targets": list(plan.targets) if plan.targets is not None else None,
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """Everything in the plan except the member ids (``adds``/``removes`` say how many)."""
    return {
        **plan_header(plan),
        "wiring": plan.wiring,
        "cohorts": [cohort_to_dict(cp) for cp in plan.cohorts],
        "guards": [{**asdict(g), "cohorts": list(g.cohorts)} for g in plan.guards],
        "warnings": [asdict(w) for w in plan.warnings],
        "summary": {**asdict(plan.summary), "rates": list(plan.summary.rates)},
    }


def cohort_to_dict(cp: CohortPlan) -> dict[str, Any]:
    return {
        "cohort_id": cp.cohort_id,
        "remote_id": cp.remote_id,
        "name": cp.name,
        "action": cp.action,
        "connection": cp.connection,
        "destination": cp.destination,
        "partner": cp.partner,
        "method": cp.method,
        "identifier": cp.identifier,
        "attribute": cp.attribute,
        "alias_label": cp.alias_label,
        "update_existing_only": cp.update_existing_only,
        "batch_size": cp.batch_size,
        "adds": cp.adds,
        "removes": cp.removes,
        "baseline": cp.baseline,
        "settings": dict(cp.settings),
        "settings_diff": list(cp.settings_diff),
        "moved_from": cp.moved_from,
        "needs_remote_create": cp.needs_remote_create,
        "needs_remote_rename": cp.needs_remote_rename,
        "blocked_by": list(cp.blocked_by),
        "errored": cp.errored,
        "desired_count": cp.desired_count,
        "recorded_count": cp.recorded_count,
        "source_issues": [{"where": i.where, "message": i.message} for i in cp.source_issues],
        "skipped": dict(cp.skipped),
        "duplicates": cp.duplicates,
        "kept": cp.kept,
        "cost": asdict(cp.cost),
    }


def plan_from_dict(data: Mapping[str, Any], members: MemberLoader) -> Plan:
    """Rebuild a plan; ``members(index, cohort_data)`` returns that cohort's (to_add, to_remove)."""
    state = data["state"]
    targets = data["targets"]
    cohorts = tuple(
        _cohort(c, *members(i, c)) for i, c in enumerate(_list(data["cohorts"], "cohorts"))
    )
    return Plan(
        created_at=dt.datetime.fromisoformat(_str(data["created_at"])),
        config_digest=_str(data["config_digest"]),
        wiring=_str(data.get("wiring", "")),
        lineage=_str(state["lineage"]),
        serial=_int(state["serial"]),
        state_where=_str(state.get("where", "")),
        state_missing=state.get("exists") is False,
        cohorts=cohorts,
        guards=tuple(_guard(g) for g in _list(data["guards"], "guards")),
        warnings=tuple(
            PlanWarning(_str(w["message"]), _opt_str(w["cohort"]))
            for w in _list(data["warnings"], "warnings")
        ),
        summary=summarize(cohorts),
        targets=tuple(_str(t) for t in _list(targets, "targets")) if targets is not None else None,
        format_version=_int(data["format_version"]),
    )


def _cohort(c: Mapping[str, Any], to_add: IdArray, to_remove: IdArray) -> CohortPlan:
    if len(to_add) != _int(c["adds"]) or len(to_remove) != _int(c["removes"]):
        raise ValueError(f"member counts of cohort {c['cohort_id']!r} do not match")
    cost = c["cost"]
    return CohortPlan(
        cohort_id=_str(c["cohort_id"]),
        remote_id=_str(c["remote_id"]),
        name=_str(c["name"]),
        action=_choice(c["action"], CHANGE_KINDS),
        connection=_str(c["connection"]),
        destination=_str(c["destination"]),
        partner=_str(c["partner"]),
        method=_choice(c["method"], DELIVERY_METHODS),
        identifier=_choice(c["identifier"], IDENTIFIER_KINDS),
        attribute=_opt_str(c["attribute"]),
        alias_label=_opt_str(c["alias_label"]),
        update_existing_only=_bool(c["update_existing_only"]),
        batch_size=_int(c["batch_size"]),
        to_add=to_add,
        to_remove=to_remove,
        baseline=_bool(c["baseline"]),
        settings=_dict(c["settings"]),
        settings_diff=tuple(_str(s) for s in _list(c["settings_diff"], "settings_diff")),
        moved_from=_opt_str(c["moved_from"]),
        needs_remote_create=_bool(c["needs_remote_create"]),
        needs_remote_rename=_bool(c["needs_remote_rename"]),
        blocked_by=tuple(_str(b) for b in _list(c["blocked_by"], "blocked_by")),
        errored=_opt_str(c["errored"]),
        desired_count=_int(c["desired_count"]),
        recorded_count=_int(c["recorded_count"]),
        source_issues=tuple(
            SourceIssue(_str(i["where"]), _str(i["message"]))
            for i in _list(c["source_issues"], "source_issues")
        ),
        skipped={_str(k): _int(v) for k, v in _dict(c["skipped"]).items()},
        duplicates=_int(c["duplicates"]),
        kept=_int(c.get("kept", 0)),
        cost=Cost(
            requests=_int(cost["requests"]),
            data_points=_int(cost["data_points"]),
            seconds=_float(cost["seconds"]),
            requests_per_second=_float(cost["requests_per_second"]),
            note=_opt_str(cost["note"]),
        ),
    )


def _guard(g: Mapping[str, Any]) -> Guard:
    return Guard(
        id=_str(g["id"]),
        kind=_str(g["kind"]),
        severity=_choice(g["severity"], SEVERITIES),
        reason=_str(g["reason"]),
        cohorts=tuple(_str(c) for c in _list(g["cohorts"], "cohorts")),
        override=_opt_str(g["override"]),
    )


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} is not a list")
    return value


def _dict(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _choice(value: object, allowed: tuple[Choice, ...]) -> Choice:
    for choice in allowed:
        if value == choice:
            return choice
    raise ValueError(f"unknown value {value!r}")
