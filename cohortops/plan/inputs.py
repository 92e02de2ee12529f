"""Which member diffs a plan needs: the contract between the planner and the diff engines.

``make_plan`` expects a ``MemberDiff`` keyed by every ``DiffInput.cohort_id`` listed here; this
module resolves renames the same way the planner does, so callers never guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from cohortops.config.model import AttributeDelivery, Config, Source
from cohortops.plan.model import attribute_key
from cohortops.plan.moves import resolve_moves, select
from cohortops.state.snapshot import StateSnapshot


@dataclass(frozen=True)
class DiffInput:
    """Diff ``source`` (None: the desired set is empty) against the members recorded under
    ``recorded_id`` (None: nothing recorded).

    ``attribute_key`` groups the cohorts sharing one array attribute for the overflow check
    (``OverflowFact``); ``max_array_length`` is this cohort's connection's limit, and the check
    uses the smallest one in a group.
    """

    cohort_id: str
    source: Source | None
    recorded_id: str | None
    attribute_key: str | None = None
    max_array_length: int | None = None


def diff_inputs(
    config: Config, state: StateSnapshot, targets: frozenset[str] | None = None
) -> tuple[DiffInput, ...]:
    """Every cohort ``make_plan`` plans with these arguments, in plan order.

    Cohorts whose source fails can be left out of the diffs and reported in ``source_errors``.
    """
    moves = resolve_moves(config, state)
    selected = select(config, state, targets, moves)
    found = []
    for cid in sorted(config.cohorts):
        if cid not in selected:
            continue
        cohort = config.cohorts[cid]
        connection = config.connection_of(cohort)
        recorded = moves.renames.get(cid, cid if cid in state.cohorts else None)
        key = limit = None
        lytics = getattr(config.destinations.get(connection.destination), "kind", "") == "lytics"
        if isinstance(connection.delivery, AttributeDelivery) and not lytics:  # a map, no cap
            key = attribute_key(connection.destination, connection.delivery.attribute)
            limit = connection.delivery.max_array_length
        found.append(DiffInput(cid, cohort.source, recorded, key, limit))
    for old in sorted(state.cohorts):
        if old not in config.cohorts and old not in moves.claimed and old in selected:
            found.append(DiffInput(old, None, old))
    return tuple(found)
