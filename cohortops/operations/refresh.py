"""`plan --refresh`, `apply --refresh` and `apply --resync COHORT`.

Refresh reads what Braze holds for every targeted cohort that declares ``braze_segment`` and
plans against that instead of the state (Terraform's refresh). Nothing is written to the state
by a plan; an apply first records the refreshed sets (audited ``state.refresh``, one write per
cohort) and then carries out the plan, so the state ends equal to what Braze acknowledged.

Resync (Segment's replay) re-sends every desired member of the named cohorts and removes every
member Braze holds (read from the mirror segment when there is one) or the state recorded that
is not desired: after Braze lost data, or after ``state forget``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cohortops.config.model import Config
from cohortops.errors import CohortopsError
from cohortops.operations.braze_members import ExportSettings, declared, read_segment
from cohortops.operations.context import App
from cohortops.plan.model import Plan
from cohortops.plan.settings import cohort_settings
from cohortops.plan.summary import summarize
from cohortops.state import Store


@dataclass(frozen=True)
class RefreshDrift:
    """How what Braze holds differs from what the state records, for one refreshed cohort."""

    cohort_id: str
    in_braze: int
    recorded: int
    not_recorded: int  # in Braze, not in the state
    missing: int  # in the state, not in Braze


@dataclass(frozen=True)
class RefreshedPlan:
    plan: Plan
    braze: Mapping[str, Any]  # cohort id -> pyarrow array of what Braze holds
    drift: tuple[RefreshDrift, ...]
    resync: frozenset[str] = frozenset()


def _count_minus(left: Any, right: Any) -> int:
    if len(left) == 0 or len(right) == 0:
        return len(left)
    return int(pc.sum(pc.invert(pc.is_in(left, value_set=right))).as_py() or 0)


def read_braze(
    config: Config, cohort_ids: list[str], export: ExportSettings | None = None
) -> dict[str, Any]:
    """What Braze holds for each of ``cohort_ids`` that declares a mirror segment."""
    held: dict[str, Any] = {}
    for cid in cohort_ids:
        cohort = config.cohorts.get(cid)
        if cohort is not None and cohort.braze_segment is not None:
            held[cid] = read_segment(config, cohort, export or ExportSettings())
    return held


def plan_refreshed(
    app: App,
    store: Store,
    targets: tuple[str, ...] = (),
    *,
    refresh: bool = True,
    resync: tuple[str, ...] = (),
    export: ExportSettings | None = None,
) -> RefreshedPlan:
    """A plan against what Braze holds (read-only: nothing is written to the state)."""
    from cohortops.operations.make_plan import make_full_plan, with_unfinished_warning

    for cid in resync:
        declared(app.config, cid)
    state = store.snapshot()
    selected = app.check_targets(targets, state)
    if resync and selected is not None and not set(resync) <= selected:
        raise CohortopsError("--resync names a cohort outside --cohort.")
    wanted = sorted(selected if selected is not None else app.config.cohorts)
    braze = read_braze(app.config, wanted if refresh else list(resync), export)
    drift = []
    for cid, held in braze.items():
        recorded = store.members_array(cid) if cid in state.cohorts else pa.array([], pa.string())
        drift.append(
            RefreshDrift(
                cid,
                len(held),
                len(recorded),
                _count_minus(held, recorded),
                _count_minus(recorded, held),
            )
        )
    plan = make_full_plan(
        app.config,
        store,
        state,
        selected,
        engine=app.engine,
        recorded_override=braze,
        resync=frozenset(resync),
    )
    plan = _redeclare(plan, frozenset(resync))
    return RefreshedPlan(
        with_unfinished_warning(plan, store), braze, tuple(drift), frozenset(resync)
    )


def _redeclare(plan: Plan, resync: frozenset[str]) -> Plan:
    """A replay also re-creates (or renames) the partner cohort: idempotent, and needed when
    Braze lost it."""
    cohorts = tuple(
        dataclasses.replace(
            cp,
            needs_remote_create=True,
            needs_remote_rename=False,
            action="update" if cp.action == "noop" else cp.action,
        )
        if cp.cohort_id in resync and cp.method == "cohort_import" and cp.errored is None
        else cp
        for cp in plan.cohorts
    )
    return dataclasses.replace(plan, cohorts=cohorts, summary=summarize(list(cohorts)))


def record_refreshed(config: Config, store: Store, refreshed: RefreshedPlan) -> None:
    """At apply, before sending: make the state record what Braze held (lock held)."""
    for cid, held in refreshed.braze.items():
        if not store.has_cohort(cid):
            store.upsert_cohort(cid, cohort_settings(config, config.cohorts[cid]))
        previous = store.recorded_members(cid).count
        store.replace_members(
            cid, held, "state.refresh", {"in_braze": len(held), "previous": previous}
        )


def drift_lines(refreshed: RefreshedPlan) -> Iterator[str]:
    """The plan's drift section: how Braze differs from the state, per refreshed cohort."""
    if not refreshed.drift:
        return
    yield "Drift (read from Braze's mirror segments; the plan above is made against Braze):"
    for d in refreshed.drift:
        if d.not_recorded == 0 and d.missing == 0:
            yield f"  {d.cohort_id}: none ({d.in_braze:,} in Braze, as recorded)"
        else:
            yield (
                f"  {d.cohort_id}: in Braze but not recorded: {d.not_recorded:,}; "
                f"recorded but missing in Braze: {d.missing:,}"
            )
