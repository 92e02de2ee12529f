"""Machine-readable rendering of a plan, versioned by ``schemas/plan.schema.json``.

It carries samples of member ids, never all of them: the plan file holds the exact changes.
"""

from __future__ import annotations

from typing import Any

import orjson

from cohortops.plan import render_common as fmt
from cohortops.plan.codec import plan_header
from cohortops.plan.model import CohortPlan, Plan

SAMPLE = 10
ISSUES = 10


def plan_json(plan: Plan, *, sample: int = SAMPLE) -> dict[str, Any]:
    s = plan.summary
    return {
        **plan_header(plan),
        "has_changes": plan.has_changes,
        "summary": {
            "cohorts_to_create": s.cohorts_to_create,
            "cohorts_to_update": s.cohorts_to_update,
            "cohorts_to_rename": s.cohorts_to_rename,
            "cohorts_to_destroy": s.cohorts_to_destroy,
            "cohorts_unchanged": s.cohorts_unchanged,
            "cohorts_errored": s.cohorts_errored,
            "cohorts_blocked": len(plan.blocked_cohorts()),
            "members_to_add": s.members_to_add,
            "members_to_remove": s.members_to_remove,
            "members_baseline": s.members_baseline,
            "requests": s.requests,
            "data_points": s.data_points,
            "seconds": round(s.seconds, 3),
            "requests_per_second": list(s.rates),
            "text": fmt.totals_line(s),
        },
        "cohorts": [_cohort(cp, sample) for cp in plan.cohorts],
        "guards": [
            {
                "id": g.id,
                "kind": g.kind,
                "severity": g.severity,
                "cohort": g.cohort,
                "cohorts": list(g.cohorts),
                "reason": g.reason,
                "override": g.override,
            }
            for g in plan.guards
        ],
        "warnings": [{"cohort": w.cohort, "message": w.message} for w in plan.warnings],
    }


def _cohort(cp: CohortPlan, sample: int) -> dict[str, Any]:
    return {
        "id": cp.cohort_id,
        "remote_id": cp.remote_id,
        "name": cp.name,
        "action": cp.action,
        "connection": cp.connection,
        "destination": cp.destination,
        "partner": cp.partner,
        "delivery": cp.method,
        "attribute": cp.attribute,
        "identifier": cp.identifier,
        "alias_label": cp.alias_label,
        "update_existing_only": cp.update_existing_only,
        "baseline": cp.baseline,
        "moved_from": cp.moved_from,
        "needs_remote_create": cp.needs_remote_create,
        "needs_remote_rename": cp.needs_remote_rename,
        "desired_count": cp.desired_count,
        "recorded_count": cp.recorded_count,
        "members_to_add": cp.adds,
        "members_to_remove": cp.removes,
        "members_kept": cp.kept,
        "sample_to_add": fmt.sample(cp.to_add, sample),
        "sample_to_remove": fmt.sample(cp.to_remove, sample),
        "settings_diff": list(cp.settings_diff),
        "blocked": bool(cp.blocked_by),
        "blocked_by": list(cp.blocked_by),
        "errored": cp.errored,
        "source": {
            "skipped": dict(cp.skipped),
            "duplicates": cp.duplicates,
            "issues": [{"where": i.where, "message": i.message} for i in cp.source_issues[:ISSUES]],
        },
        "cost": {
            "requests": cp.cost.requests,
            "data_points": cp.cost.data_points,
            "seconds": round(cp.cost.seconds, 3),
            "requests_per_second": cp.cost.requests_per_second,
            "note": cp.cost.note,
        },
    }


def render_json(plan: Plan, *, sample: int = SAMPLE) -> str:
    return orjson.dumps(plan_json(plan, sample=sample), option=orjson.OPT_INDENT_2).decode() + "\n"
