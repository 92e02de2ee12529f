"""Plan totals. Errored cohorts change nothing and count only as errored."""

from __future__ import annotations

from collections.abc import Iterable

from cohortops.plan.model import CohortPlan, Summary


def summarize(cohorts: Iterable[CohortPlan]) -> Summary:
    counts = {"create": 0, "update": 0, "rename": 0, "destroy": 0, "noop": 0}
    errored = adds = removes = baseline = requests = data_points = 0
    seconds = 0.0
    rates: set[float] = set()
    for cp in cohorts:
        if cp.errored is not None:
            errored += 1
            continue
        counts[cp.action] += 1
        adds += cp.sent_adds
        removes += cp.removes
        baseline += cp.adds if cp.baseline else 0
        requests += cp.cost.requests
        data_points += cp.cost.data_points
        seconds += cp.cost.seconds
        if cp.cost.requests:
            rates.add(cp.cost.requests_per_second)
    return Summary(
        cohorts_to_create=counts["create"],
        cohorts_to_update=counts["update"],
        cohorts_to_rename=counts["rename"],
        cohorts_to_destroy=counts["destroy"],
        cohorts_unchanged=counts["noop"],
        cohorts_errored=errored,
        members_to_add=adds,
        members_to_remove=removes,
        members_baseline=baseline,
        requests=requests,
        data_points=data_points,
        seconds=seconds,
        rates=tuple(sorted(rates)),
    )
