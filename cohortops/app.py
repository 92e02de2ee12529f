"""The context object the CLI drives: config, state, planning and applying, without click.

Every command is a few calls on :class:`App`; tests and the demo use it directly.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from cohortops.apply.actor import Actor, detect_actor
from cohortops.apply.members import recorded_array
from cohortops.config import Config, load_config
from cohortops.errors import CohortopsError, SourceError, StalePlanError
from cohortops.overflow import overflow_facts
from cohortops.plan.diff import make_engine
from cohortops.plan.inputs import diff_inputs
from cohortops.plan.memberdiff import MemberDiff
from cohortops.plan.model import Plan
from cohortops.plan.planner import make_plan
from cohortops.state import Store, open_store
from cohortops.state.records import RecordedMembers, StateSnapshot

EMPTY = pa.array([], type=pa.string())


def empty_recorded(cohort_id: str) -> RecordedMembers:
    return RecordedMembers(cohort_id, None, EMPTY, EMPTY, 0)


@dataclass
class App:
    config_path: Path | None = None
    engine: str = "duckdb"
    environ: Mapping[str, str] | None = None
    state_override: Any = None  # a StateConfig that replaces the configured one (demo, tests)
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            if self.state_override is not None:
                self._config = replace(self._config, state=self.state_override)
        return self._config

    @contextmanager
    def store(self) -> Iterator[Store]:
        store = open_store(self.config.state)
        try:
            yield store
        finally:
            store.close()

    def actor(self) -> Actor:
        return detect_actor()

    def check_targets(
        self, targets: tuple[str, ...], state: StateSnapshot
    ) -> frozenset[str] | None:
        if not targets:
            return None
        known = set(self.config.cohorts) | set(state.cohorts)
        unknown = [t for t in targets if t not in known]
        if unknown:
            from cohortops.config.rules import suggest

            raise CohortopsError(
                f"Unknown cohort '{unknown[0]}'{suggest(unknown[0], sorted(known))}"
            )
        return frozenset(targets)

    def plan(self, store: Store, targets: tuple[str, ...] = ()) -> Plan:
        """Diff every targeted cohort's source against the recorded state (read-only)."""
        config = self.config
        state = store.snapshot()
        selected = self.check_targets(targets, state)
        inputs = diff_inputs(config, state, selected)
        diffs: dict[str, MemberDiff] = {}
        errors: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="cohortops-diff-") as tmp:
            engine = make_engine(self.engine, temp_dir=Path(tmp))  # type: ignore[arg-type]
            try:
                for item in inputs:
                    recorded = (
                        store.recorded_members(item.recorded_id)
                        if item.recorded_id is not None
                        else empty_recorded(item.cohort_id)
                    )
                    if item.source is None:  # gone from the files: every member leaves
                        diffs[item.cohort_id] = MemberDiff(
                            item.cohort_id, EMPTY, recorded_array(recorded), 0, recorded.count
                        )
                        continue
                    try:
                        diffs[item.cohort_id] = engine.diff(item.cohort_id, item.source, recorded)
                    except SourceError as exc:
                        errors[item.cohort_id] = str(exc)
            finally:
                engine.close()
        return make_plan(
            config,
            state,
            diffs,
            now=dt.datetime.now(dt.UTC),
            targets=selected,
            source_errors=errors,
            overflow=overflow_facts(config, inputs),
        )


def check_fresh(plan: Plan, state: StateSnapshot) -> None:
    """A saved plan applies only to the state it was made against."""
    if plan.lineage != state.lineage:
        raise StalePlanError(
            f"Saved plan is stale: it was made for state lineage {plan.lineage}, but the state's "
            f"lineage is {state.lineage}. Make a new plan against this state."
        )
    if plan.serial != state.serial:
        raise StalePlanError(
            f"Saved plan is stale: the state moved from serial {plan.serial} to {state.serial} "
            "since it was made. Run `cohortops plan` again and review the new plan."
        )
