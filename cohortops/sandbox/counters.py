"""Request, object and data-point counters served by GET /_sandbox/counters."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Counters:
    def __init__(self) -> None:
        self.requests: dict[str, Counter[str]] = {}
        self.objects_per_request: Counter[int] = Counter()
        self.ids_per_cohort_request: Counter[int] = Counter()
        self.totals: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def request(self, endpoint: str, status: int | str) -> None:
        bucket = self.requests.get(endpoint)
        if bucket is None:
            bucket = self.requests[endpoint] = Counter()
        bucket[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        totals = self.totals
        return {
            "requests": {e: dict(sorted(c.items())) for e, c in sorted(self.requests.items())},
            "requests_total": sum(sum(c.values()) for c in self.requests.values()),
            "objects_per_request": {str(k): v for k, v in sorted(self.objects_per_request.items())},
            "objects_total": totals["objects"],
            "data_points": totals["data_points"],
            "attribute_changes": totals["attribute_changes"],
            "users_created": totals["users_created"],
            "objects_dropped_unknown_user": totals["objects_dropped"],
            "object_errors": totals["object_errors"],
            "ids_per_cohort_request": {
                str(k): v for k, v in sorted(self.ids_per_cohort_request.items())
            },
            "cohort_ids_total": totals["cohort_ids"],
            "cohort_ids_matched": totals["cohort_ids_matched"],
            "cohort_ids_skipped": totals["cohort_ids_skipped"],
            "rate_limited": totals["rate_limited"],
            "faults": dict(sorted(self.faults.items())),
        }
