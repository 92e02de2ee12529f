"""Making a plan: read every targeted source, diff it against the state, run the planner.

The I/O half of planning (sources, recorded snapshots, DuckDB); the planner itself stays pure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from cohortops.config import Config
from cohortops.diff.engine import make_engine
from cohortops.diff.memberdiff import MemberDiff
from cohortops.errors import SourceError
from cohortops.operations.overflow import overflow_facts
from cohortops.plan.inputs import diff_inputs
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
    with tempfile.TemporaryDirectory(prefix="cohortops-diff-") as tmp:
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


def with_unfinished_warning(plan: Plan, store: Store) -> Plan:
    """Say so when an apply died mid-way: its in-flight batches may have reached Braze."""
    unfinished = store.unfinished_applies()
    if not unfinished:
        return plan
    last = unfinished[-1]
    warning = PlanWarning(
        f"apply {last.apply_id} by {last.who} at {last.began_at:%Y-%m-%d %H:%M} UTC did not "
        "finish: batches in flight when it stopped may have reached Braze unrecorded. This "
        "plan re-sends what is still wanted; `cohortops drift` checks the rest."
    )
    return dataclasses.replace(plan, warnings=(*plan.warnings, warning))
