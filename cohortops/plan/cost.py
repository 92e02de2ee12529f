"""What a cohort's change costs at Braze: requests, data points and time at the configured rate."""

from __future__ import annotations

import math

from cohortops.config.model import DeliveryMethod
from cohortops.plan.model import Cost

COHORT_IMPORT_NOTE = "cohort import does not consume data points"


def estimate(
    method: DeliveryMethod,
    *,
    adds: int,
    removes: int,
    batch_size: int,
    requests_per_second: float,
    remote_calls: int = 0,
) -> Cost:
    """Adds and removes go in separate requests, each batched at ``batch_size`` identifiers.

    ``remote_calls`` counts the partner cohort create/rename calls (cohort import only).
    Attribute delivery writes one data point per member change; cohort import none.
    """
    size = max(batch_size, 1)
    requests = math.ceil(adds / size) + math.ceil(removes / size) + remote_calls
    if method == "attribute":
        data_points, note = adds + removes, None
    else:
        data_points, note = 0, COHORT_IMPORT_NOTE
    seconds = requests / requests_per_second if requests_per_second > 0 else 0.0
    return Cost(
        requests=requests,
        data_points=data_points,
        seconds=seconds,
        requests_per_second=requests_per_second,
        note=note,
    )
