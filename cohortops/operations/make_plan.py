"""Making a plan: read every targeted source, diff it against the state, run the planner.

The I/O half of planning (sources, recorded snapshots, DuckDB); the planner itself stays pure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pyarrow as pa

from cohortops.config import Config
from cohortops.config.model import BrazeSegmentSource
from cohortops.diff.engine import make_engine
from cohortops.diff.memberdiff import MemberDiff
from cohortops.errors import SourceError
from cohortops.operations.overflow import overflow_facts
from cohortops.plan.inputs import DiffInput, diff_inputs
from cohortops.plan.model import Plan, PlanWarning
from cohortops.plan.planner import make_plan
from cohortops.state import Store
from cohortops.state.snapshot import RecordedMembers, StateSnapshot

EMPTY = pa.array([], type=pa.string())


def empty_recorded(cohort_id: str) -> RecordedMembers:
    return RecordedMembers(cohort_id, None, EMPTY, EMPTY, 0)


def make_full_plan(
    config: Config,
    store: Store,
    state: StateSnapshot,
    selected: frozenset[str] | None,
    *,
    engine: str = "duckdb",
    recorded_override: Mapping[str, Any] | None = None,
    resync: frozenset[str] = frozenset(),
) -> Plan:
    """``recorded_override``: cohort id → what Braze holds (a refresh), planned against instead of
    the state. ``resync``: cohorts whose every desired member is re-sent."""
    overrides = recorded_override or {}
    inputs = diff_inputs(config, state, selected)
    diffs: dict[str, MemberDiff] = {}
    errors: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="cohortops-diff-") as tmp,
        _shared_exports(inputs),
    ):
        differ = make_engine(engine, temp_dir=Path(tmp))
        try:
            for item in inputs:
                if item.source is None:  # gone from the files: every recorded member leaves
                    assert item.recorded_id is not None
                    members = store.members_array(item.recorded_id)
                    diffs[item.cohort_id] = MemberDiff(
                        item.cohort_id, EMPTY, members, 0, len(members)
                    )
                    continue
                if item.cohort_id in overrides:
                    held = overrides[item.cohort_id]
                    recorded = RecordedMembers(item.cohort_id, None, held, EMPTY, len(held))
                elif item.recorded_id is not None:
                    recorded = store.recorded_members(item.recorded_id)
                else:
                    recorded = empty_recorded(item.cohort_id)
                try:
                    diff = differ.diff(item.cohort_id, item.source, recorded)
                    if item.cohort_id in resync:
                        everyone = differ.diff(
                            item.cohort_id, item.source, empty_recorded(item.cohort_id)
                        )
                        diff = dataclasses.replace(diff, to_add=everyone.to_add)
                    diffs[item.cohort_id] = diff
                except SourceError as exc:
                    errors[item.cohort_id] = str(exc)
        finally:
            differ.close()
    return make_plan(
        config,
        state,
        diffs,
        now=dt.datetime.now(dt.UTC),
        targets=selected,
        source_errors=errors,
        overflow=overflow_facts(config, inputs),
    )


def _shared_exports(inputs: Sequence[DiffInput]) -> AbstractContextManager[None]:
    """A segment feeding several connections is exported once per plan, however the plan is
    made (plain or refreshed). Only plans reading a Braze segment import its reader: it brings
    the Braze client and httpx."""
    if not any(isinstance(item.source, BrazeSegmentSource) for item in inputs):
        return nullcontext()
    from cohortops.sources.braze_segment import shared_exports

    return shared_exports()


UNFINISHED = "did not finish"
RUNNING = "an apply is running"


def with_unfinished_warning(plan: Plan, store: Store) -> Plan:
    """Say so when an apply died mid-way (its in-flight batches may have reached Braze), or,
    when another process holds the lock for an apply right now, that one is running."""
    lock = store.current_lock()
    if lock is not None and lock.pid != os.getpid() and lock.operation == "apply":
        warning = PlanWarning(
            f"{RUNNING} (lock {lock.id}, {lock.who}, since {lock.created_at:%Y-%m-%d %H:%M} "
            "UTC): its batches are recorded as Braze acknowledges them, so this plan may "
            "already be out of date; plan again after it ends."
        )
        return dataclasses.replace(plan, warnings=(*plan.warnings, warning))
    unfinished = store.unfinished_applies()
    if not unfinished:
        return plan
    last = unfinished[-1]
    warning = PlanWarning(
        f"apply {last.apply_id} by {last.who} at {last.began_at:%Y-%m-%d %H:%M} UTC {UNFINISHED}: "
        "batches in flight when it stopped may have reached Braze unrecorded. This "
        "plan re-sends what is still wanted; `cohortops drift` checks the rest."
    )
    return dataclasses.replace(plan, warnings=(*plan.warnings, warning))


def close_unfinished(plan: Plan, store: Store, who: str) -> tuple[Plan, list[str]]:
    """With the lock held and nothing left to send: close every unfinished apply's journal as
    abandoned (audited), and drop the plan's "did not finish" warning."""
    closed = []
    for stale in store.unfinished_applies():
        store.journal_end(stale.apply_id, "abandoned")
        store.append_audit(
            "apply.abandoned",
            who,
            None,
            {"abandoned": stale.apply_id, "who": stale.who, "began_at": str(stale.began_at)},
        )
        closed.append(stale.apply_id)
    if not closed:
        return plan, []
    store.flush()
    kept = tuple(w for w in plan.warnings if UNFINISHED not in w.message)
    lines = [
        f"Closed apply {a}, which did not finish: nothing of it is left to send." for a in closed
    ]
    return dataclasses.replace(plan, warnings=kept), lines
