"""Guards: the checks a reviewer must see before members are removed, dropped or ignored.

``block`` guards stop ``apply`` for their cohorts unless the named override flag is given;
``warn`` guards only inform. Each reason is written for a reviewer who has not read the config.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from cohortops.config.model import AttributeDelivery, Config, Guards
from cohortops.plan.model import CohortPlan, Guard, OverflowFact, attribute_key

ALLOW_MASS_REMOVAL = "--allow-mass-removal"
ALLOW_EMPTY = "--allow-empty"
ALLOW_DESTROY = "--allow-destroy"
ALLOW_OVERFLOW = "--allow-overflow"
SAMPLE_IN_REASON = 5
ISSUES_IN_REASON = 3


def cohort_guards(cp: CohortPlan, guards: Guards | None) -> list[Guard]:
    """The guards of one planned cohort; ``guards`` is None for a cohort gone from the files."""
    if cp.errored is not None:
        return []
    found: list[Guard] = []
    cid = cp.cohort_id
    if cp.action == "destroy" and cp.kept:
        found.append(
            Guard(
                id=f"destroy:{cid}",
                kind="destroy",
                severity="block",
                reason=(
                    f"cohort {cid} is no longer declared and its removal is additive: its "
                    f"{cp.kept:,} recorded members keep their membership in Braze (declare it "
                    "again with removal: mirror to remove them); its state will be deleted"
                ),
                cohorts=(cid,),
                override=ALLOW_DESTROY,
            )
        )
    elif cp.action == "destroy":
        found.append(
            Guard(
                id=f"destroy:{cid}",
                kind="destroy",
                severity="block",
                reason=(
                    f"cohort {cid} is no longer declared: {_members(cp.removes)} recorded for it "
                    "will be removed from Braze and its state deleted"
                ),
                cohorts=(cid,),
                override=ALLOW_DESTROY,
            )
        )
    elif cp.action in ("update", "rename") and guards is not None:
        found.extend(_removal_guards(cp, guards))
    found.extend(_ignored_id_guards(cp))
    hygiene = _hygiene_guard(cp)
    if hygiene is not None:
        found.append(hygiene)
    return found


def _members(n: int) -> str:
    return "1 member" if n == 1 else f"all {n:,} members"


def _removal_guards(cp: CohortPlan, guards: Guards) -> list[Guard]:
    """An empty source and a mass removal are separate guards with separate flags:
    ``--allow-empty`` accepts an empty source, never also a removal above
    ``max_remove_percent`` (that takes ``--allow-mass-removal`` as well)."""
    cid = cp.cohort_id
    if cp.recorded_count == 0 or cp.removes == 0:
        return []
    found: list[Guard] = []
    if cp.desired_count == 0 and not guards.allow_empty:
        found.append(
            Guard(
                id=f"empty_source:{cid}",
                kind="empty_source",
                severity="block",
                reason=(
                    f"the source of {cid} returned no members: {_members(cp.recorded_count)} "
                    "recorded for it would be removed (set guards.allow_empty to expect this)"
                ),
                cohorts=(cid,),
                override=ALLOW_EMPTY,
            )
        )
    limit = guards.max_remove_percent
    percent = 100.0 * cp.removes / cp.recorded_count
    if limit is None or percent <= limit:
        return found
    found.append(
        Guard(
            id=f"max_remove_percent:{cid}",
            kind="max_remove_percent",
            severity="block",
            reason=(
                f"{cid} would remove {cp.removes:,} of {cp.recorded_count:,} recorded members "
                f"({percent:.1f}%), more than its max_remove_percent of {limit:g}%"
            ),
            cohorts=(cid,),
            override=ALLOW_MASS_REMOVAL,
        )
    )
    return found


def _ignored_id_guards(cp: CohortPlan) -> list[Guard]:
    if cp.sent_adds == 0:
        return []
    cid = cp.cohort_id
    if cp.method == "cohort_import":
        device = (
            "; device ids of identified users are ignored too"
            if cp.identifier == "device_id"
            else ""
        )
        return [
            Guard(
                id=f"existing_users_only:{cid}",
                kind="existing_users_only",
                severity="warn",
                reason=(
                    f"cohort import affects existing Braze users only: any of the {cp.adds:,} "
                    f"ids added to {cid} that Braze does not know are skipped silently{device} "
                    "(run `cohortops drift` after apply to find them)"
                ),
                cohorts=(cid,),
            )
        ]
    if not cp.update_existing_only:
        return [
            Guard(
                id=f"creates_users:{cid}",
                kind="creates_users",
                severity="warn",
                reason=(
                    f"create_missing_users is true: any of the {cp.adds:,} ids added to {cid} "
                    "that Braze does not know become new Braze users"
                ),
                cohorts=(cid,),
            )
        ]
    return []


def _hygiene_guard(cp: CohortPlan) -> Guard | None:
    skipped = sum(cp.skipped.values())
    if skipped == 0:
        return None
    reasons = ", ".join(f"{reason}: {n:,}" for reason, n in sorted(cp.skipped.items()))
    first = "; ".join(f"{i.where} ({i.message})" for i in cp.source_issues[:ISSUES_IN_REASON])
    where = f"; first at {first}" if first else ""
    return Guard(
        id=f"source_rows_skipped:{cp.cohort_id}",
        kind="source_rows_skipped",
        severity="warn",
        reason=(
            f"{skipped:,} source {'row' if skipped == 1 else 'rows'} of {cp.cohort_id} "
            f"{'was' if skipped == 1 else 'were'} skipped and will not reach Braze "
            f"({reasons}){where}"
        ),
        cohorts=(cp.cohort_id,),
    )


def overflow_guards(
    plans: Sequence[CohortPlan], overflow: Mapping[str, OverflowFact]
) -> list[Guard]:
    """Block the cohorts that add values to an array attribute some users would overflow."""
    found = []
    for key in sorted(overflow):
        fact = overflow[key]
        sharing = [
            cp
            for cp in plans
            if cp.errored is None
            and cp.method == "attribute"
            and cp.attribute is not None
            and attribute_key(cp.destination, cp.attribute) == key
        ]
        adding = tuple(cp.cohort_id for cp in sharing if cp.sent_adds > 0)
        label = (
            f"attribute {sharing[0].attribute} on {sharing[0].destination}"
            if sharing
            else f"attribute {key}"
        )
        sample = ", ".join(fact.sample[:SAMPLE_IN_REASON])
        found.append(
            Guard(
                id=f"array_overflow:{key}",
                kind="array_overflow",
                severity="block" if adding else "warn",
                reason=(
                    f"{fact.users_over:,} users would hold more than {fact.limit} values of "
                    f"{label} (up to {fact.max_memberships}); Braze silently drops the oldest "
                    f"values beyond the limit" + (f" (e.g. {sample})" if sample else "")
                ),
                cohorts=adding or tuple(cp.cohort_id for cp in sharing),
                override=ALLOW_OVERFLOW if adding else None,
            )
        )
    return found


def capacity_guards(config: Config, planned: Iterable[str]) -> list[Guard]:
    """Warn when more cohorts share one array attribute than it can hold for one user."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    limits: dict[tuple[str, str], int] = {}
    for cohort in config.cohorts.values():
        connection = config.connections.get(cohort.connection)
        if connection is None or not isinstance(connection.delivery, AttributeDelivery):
            continue
        target = config.destinations.get(connection.destination)
        if target is not None and target.kind == "lytics":
            continue  # a map field on Lytics profiles: no array length to exceed
        key = (connection.destination, connection.delivery.attribute)
        groups[key].append(cohort.id)
        limit = connection.delivery.max_array_length
        limits[key] = min(limits.get(key, limit), limit)
    planned_ids = set(planned)
    found = []
    for (destination, attribute), ids in sorted(groups.items()):
        limit = limits[(destination, attribute)]
        if len(ids) <= limit or planned_ids.isdisjoint(ids):
            continue
        found.append(
            Guard(
                id=f"array_capacity:{attribute_key(destination, attribute)}",
                kind="array_capacity",
                severity="warn",
                reason=(
                    f"{len(ids):,} cohorts write attribute {attribute} on {destination}, more "
                    f"than its max_array_length of {limit}: a user in more than {limit} of them "
                    "silently loses the oldest; raise the limit in Braze and in the connection, "
                    "or split the attribute"
                ),
                cohorts=tuple(sorted(ids)),
            )
        )
    return found
