"""How ``moved_from`` lines resolve against the state, and which cohorts a plan covers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cohortops.config.model import Config
from cohortops.errors import PlanError
from cohortops.state.snapshot import StateSnapshot


@dataclass(frozen=True)
class Moves:
    """``renames`` move a recorded cohort to a new id; ``claimed`` old ids are not destroyed."""

    renames: Mapping[str, str] = field(default_factory=dict)  # new id -> old id
    claimed: frozenset[str] = frozenset()  # old ids that must not be destroyed
    errors: Mapping[str, str] = field(default_factory=dict)  # new id -> message
    warnings: Mapping[str, str] = field(default_factory=dict)  # new id -> message


def resolve_moves(config: Config, state: StateSnapshot) -> Moves:
    renames: dict[str, str] = {}
    claimed: set[str] = set()
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    owner: dict[str, str] = {}
    for cid in sorted(config.cohorts):
        old = config.cohorts[cid].moved_from
        if old is None or old == cid:
            continue
        if old in config.cohorts:
            errors[cid] = (
                f"moved_from {old} names a cohort that is still declared: remove moved_from "
                f"or the declaration of {old}"
            )
        elif old in owner:
            errors[cid] = f"moved_from {old} is already claimed by cohort {owner[old]}"
        elif old in state.cohorts and cid in state.cohorts:
            owner[old] = cid
            claimed.add(old)
            errors[cid] = (
                f"both {cid} and its moved_from {old} are in the state: run `cohortops state "
                f"forget {old}` if {old} is obsolete, or remove moved_from to let {old} be "
                "destroyed"
            )
        elif old in state.cohorts:
            owner[old] = cid
            claimed.add(old)
            renames[cid] = old
        elif cid in state.cohorts:
            warnings[cid] = (
                f"moved_from {old} is no longer in the state: the move to {cid} already "
                "happened; the moved_from line can be deleted"
            )
        else:
            warnings[cid] = (
                f"moved_from {old} is not in the state: {cid} is created as a new cohort"
            )
    return Moves(
        renames=MappingProxyType(renames),
        claimed=frozenset(claimed),
        errors=MappingProxyType(errors),
        warnings=MappingProxyType(warnings),
    )


def select(
    config: Config, state: StateSnapshot, targets: frozenset[str] | None, moves: Moves
) -> set[str]:
    every = set(config.cohorts) | set(state.cohorts)
    if targets is None:
        return every
    unknown = sorted(set(targets) - every)
    if unknown:
        raise PlanError(
            f"Unknown cohort{'s' if len(unknown) > 1 else ''} for --cohort: {', '.join(unknown)}.",
            hint="Run `cohortops state list` or check the cohort ids in the configuration.",
        )
    selected = set(targets)
    selected |= {new for new, old in moves.renames.items() if old in targets}
    return selected
