"""Two cohorts must never write the same Braze-side identity.

A moved cohort keeps its original remote id (the attribute value or the cohort import
``cohort_id``). Declaring a new cohort under that old id would make both write one Braze value, so
removing a member from one would silently remove it from the other.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from cohortops.plan.model import CohortPlan
from cohortops.state.snapshot import StateSnapshot

Key = tuple[str, str, str, str]


def _key(destination: str, method: str, channel: str, remote_id: str) -> Key:
    return (destination, method, channel, remote_id)


def _plan_key(cp: CohortPlan) -> Key:
    channel = cp.attribute if cp.method == "attribute" else cp.partner
    return _key(cp.destination, cp.method, channel or "", cp.remote_id)


def _record_key(cohort_id: str, settings: Mapping[str, Any]) -> Key:
    delivery = settings.get("delivery") or {}
    method = str(delivery.get("method", ""))
    channel = delivery.get("attribute") if method == "attribute" else settings.get("partner")
    remote_id = str(settings.get("remote_id", cohort_id))
    return _key(str(settings.get("destination", "")), method, str(channel or ""), remote_id)


def mark_collisions(cohorts: Sequence[CohortPlan], state: StateSnapshot) -> list[CohortPlan]:
    """Mark new cohorts whose Braze identity another cohort already writes as errored."""
    owners: dict[Key, list[str]] = defaultdict(list)
    for cp in cohorts:
        if cp.errored is None:
            owners[_plan_key(cp)].append(cp.cohort_id)
    # an errored cohort is not replanned: its recorded identity stays taken
    planned = {cp.cohort_id for cp in cohorts if cp.errored is None}
    planned |= {cp.moved_from for cp in cohorts if cp.moved_from and cp.errored is None}
    for cohort_id, record in state.cohorts.items():
        if cohort_id not in planned:
            owners[_record_key(cohort_id, record.settings)].append(cohort_id)
    out = []
    for cp in cohorts:
        holders = owners.get(_plan_key(cp), []) if cp.errored is None else []
        others = [h for h in holders if h != cp.cohort_id]
        if others and cp.action == "create":
            what = "attribute value" if cp.method == "attribute" else "cohort_id"
            cp = dataclasses.replace(
                cp,
                errored=(
                    f"Braze {what} '{cp.remote_id}' is already written by cohort "
                    f"'{others[0]}' (an id keeps its Braze identity after moved_from); "
                    "choose another id for this cohort"
                ),
            )
        out.append(cp)
    return out
