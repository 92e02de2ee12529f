"""The context object the CLI drives: config, state, planning and applying, without click.

Every command is a few calls on :class:`App`; tests and the demo use it directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from cohortops.config import Config, load_config
from cohortops.config.model import (
    BrazeSegmentSource,
    Cohort,
    Destination,
    LyticsSource,
    Secret,
    StateConfig,
)
from cohortops.errors import CohortopsError, StalePlanError
from cohortops.state import Store, open_store
from cohortops.state.empty import NO_STATE_LINEAGE
from cohortops.state.location import StateLocation, check_old_place, locate_state
from cohortops.state.snapshot import StateSnapshot

LYTICS_PREFIX = "/lytics"  # where the sandbox serves its Lytics-compatible API

if TYPE_CHECKING:
    from cohortops.apply.actor import Actor
    from cohortops.plan.model import Plan


@dataclass
class App:
    config_path: Path | None = None
    engine: str = "duckdb"
    # The demo and tests run the files as written against a temporary state and the sandbox.
    state_override: StateConfig | None = None
    endpoint_override: str | None = None  # every destination's rest_endpoint
    _config: Config | None = field(default=None, repr=False)
    _location: StateLocation | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            config = load_config(self.config_path)
            if self.state_override is not None:
                config = replace(config, state=self.state_override)
            if self.endpoint_override is not None:
                config = sandboxed(config, self.endpoint_override)
            self._config = config
        return self._config

    @property
    def state_location(self) -> StateLocation:
        """This configuration's state: beside it, from its state: block or COHORTOPS_STATE_URL."""
        if self._location is None:
            self._location = locate_state(self.config)
        return self._location

    @contextmanager
    def store(self, *, create: bool = True) -> Iterator[Store]:
        """The state; commands that only read pass ``create=False`` and never create one."""
        where = self.state_location
        check_old_place(where)
        store = open_store(where.state, cwd=where.base, create=create)
        try:
            yield store
        finally:
            store.close()

    def actor(self) -> Actor:
        # socket and getpass: only commands that record who acted need them, never a plan
        from cohortops.apply.actor import detect_actor

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
                f"Unknown cohort '{unknown[0]}'{suggest(unknown[0], sorted(known))}",
                hint=f"--cohort takes a declared or recorded id: {', '.join(sorted(known))}.",
            )
        # a declared id with several connections selects every (cohort, connection) pair
        pairs = {c.id for c in self.config.cohorts.values() if c.declared_id in targets}
        return frozenset(targets) | pairs

    def plan(self, store: Store, targets: tuple[str, ...] = ()) -> Plan:
        """Diff every targeted cohort's source against the recorded state (read-only)."""
        # duckdb, pyarrow: only plans need them
        from cohortops.operations.make_plan import make_full_plan, with_unfinished_warning

        state = store.snapshot()
        selected = self.check_targets(targets, state)
        plan = make_full_plan(self.config, store, state, selected, engine=self.engine)
        plan = replace(
            plan,
            state_where=self.state_location.describe(),
            state_missing=state.lineage == NO_STATE_LINEAGE,
        )
        return with_unfinished_warning(plan, store)


def sandboxed(config: Config, base_url: str) -> Config:
    """``config`` pointed at a sandbox: Braze destinations at ``base_url``, Lytics destinations
    and sources at its Lytics API under ``base_url/lytics``."""
    braze = Secret(base_url)
    lytics = Secret(base_url.rstrip("/") + LYTICS_PREFIX)
    destinations = {
        k: replace(d, rest_endpoint=lytics, bulk_endpoint=None)
        if d.kind == "lytics"
        else replace(d, rest_endpoint=braze)
        for k, d in config.destinations.items()
    }
    cohorts = {k: _sandboxed_source(c, lytics, destinations) for k, c in config.cohorts.items()}
    return replace(
        config,
        destinations=MappingProxyType(destinations),
        cohorts=MappingProxyType(cohorts),
    )


def _sandboxed_source(
    cohort: Cohort, lytics: Secret, destinations: Mapping[str, Destination]
) -> Cohort:
    source = cohort.source
    if isinstance(source, LyticsSource):
        return replace(cohort, source=replace(source, endpoint=lytics))
    if isinstance(source, BrazeSegmentSource):
        return replace(cohort, source=replace(source, braze=destinations[source.braze.id]))
    return cohort


def check_fresh(plan: Plan, state: StateSnapshot, config: Config) -> None:
    """A saved plan applies only to the state, endpoints and keys it was made against."""
    if plan.lineage == NO_STATE_LINEAGE:
        if state.serial != 0:
            raise StalePlanError(
                "Saved plan is stale: it was made when there was no state yet, but the state "
                f"now exists at serial {state.serial} (another apply created it). Run "
                "`cohortops plan` again against this state and review the new plan."
            )
    elif plan.lineage != state.lineage:
        raise StalePlanError(
            f"Saved plan is stale: it was made for state lineage {plan.lineage}, but the state's "
            f"lineage is {state.lineage}. Make a new plan against this state."
        )
    if plan.serial != state.serial:
        raise StalePlanError(
            f"Saved plan is stale: the state moved from serial {plan.serial} to {state.serial} "
            "since it was made. Run `cohortops plan` again and review the new plan."
        )
    from cohortops.plan.endpoint_digest import wiring_digest

    if plan.wiring and plan.wiring != wiring_digest(config, plan.cohorts):
        raise StalePlanError(
            "Saved plan is stale: the endpoints or credential variables of its destinations or "
            "connections changed in the configuration since it was made, so it would not reach "
            "the workspace that was reviewed. Make and review a new plan."
        )
