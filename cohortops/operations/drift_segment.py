"""Complete drift for cohorts with a mirror segment: both directions, every member.

Braze's export of the cohort's ``braze_segment`` is compared with every recorded member: who is
in Braze but not recorded (someone else added the value or the cohort membership, or the state
was forgotten) and who is recorded but missing in Braze (removed in the dashboard, dropped by a
full array, never matched by cohort import). Members recorded as a ``backfill_existing: false``
baseline were never sent, so their absence in Braze is not drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cohortops.config.model import Config
from cohortops.operations.braze_members import ExportSettings, declared, read_segment
from cohortops.state import Store

SHOWN = 10


@dataclass(frozen=True)
class SegmentDrift:
    cohort_id: str
    segment: str
    in_braze: int
    recorded: int
    not_recorded: Any  # pyarrow string array: in Braze, not in the state
    missing: Any  # pyarrow string array: recorded (and sent), not in Braze
    unsent_baseline: int = 0

    @property
    def drifted(self) -> bool:
        return len(self.not_recorded) > 0 or len(self.missing) > 0


def unsent_baseline(store: Store, cohort_id: str) -> set[str]:
    """Members recorded as a baseline (never sent) and not sent since; reset by an import."""
    unsent: set[str] = set()
    for entry in store.audit_entries(cohort_id):
        if entry.kind == "state.import":
            unsent.clear()
            continue
        if entry.kind != "batch":
            continue
        members = entry.data.get("members") or ()
        if entry.data.get("baseline"):
            unsent.update(members)
        elif unsent:
            unsent.difference_update(members)
    return unsent


def _minus(left: Any, right: Any) -> Any:
    if len(left) == 0 or len(right) == 0:
        return left
    return pc.filter(left, pc.invert(pc.is_in(left, value_set=right)))


def segment_drift(
    config: Config, store: Store, cohort_id: str, export: ExportSettings | None = None
) -> SegmentDrift:
    cohort = declared(config, cohort_id)
    braze = read_segment(config, cohort, export or ExportSettings())
    recorded = (
        store.members_array(cohort_id) if store.has_cohort(cohort_id) else pa.array([], pa.string())
    )
    unsent = unsent_baseline(store, cohort_id) if not cohort.backfill_existing else set()
    missing = _minus(recorded, braze)
    if unsent:
        missing = _minus(missing, pa.array(sorted(unsent), pa.string()))
    return SegmentDrift(
        cohort_id,
        str(cohort.braze_segment),
        len(braze),
        len(recorded),
        _minus(braze, recorded),
        missing,
        len(unsent),
    )


def segment_drift_lines(results: list[SegmentDrift]) -> Iterator[str]:
    for r in results:
        head = f"  {r.cohort_id}: segment {r.segment} holds {r.in_braze:,}, state records {r.recorded:,}"
        if not r.drifted:
            yield head + ": no drift (every member compared)"
        else:
            yield head + ": drift"
        if len(r.not_recorded):
            shown = ", ".join(r.not_recorded[:SHOWN].to_pylist())
            yield f"    in Braze but not recorded: {len(r.not_recorded):,}: {shown}"
        if len(r.missing):
            shown = ", ".join(r.missing[:SHOWN].to_pylist())
            yield f"    recorded but missing in Braze: {len(r.missing):,}: {shown}"
        if r.unsent_baseline:
            yield (
                f"    {r.unsent_baseline:,} baseline members (backfill_existing: false) were "
                "never sent and are not counted as missing"
            )


@dataclass(frozen=True)
class DriftReport:
    lines: tuple[str, ...]
    drifted: bool
    rows: tuple[dict[str, Any], ...] = ()  # `drift --format json`


ROW_IDS = 100  # ids listed per direction in a JSON row


def segment_row(r: SegmentDrift, method: str) -> dict[str, Any]:
    """The sampled check's JSON keys (see ``drift_check.drift_json``) plus the complete ones."""
    return {
        "cohort_id": r.cohort_id,
        "method": method,
        "checked": r.recorded,
        "recorded": r.recorded,
        "drifted": r.drifted,
        "unknown": [],
        "missing_value": [],
        "skipped_reason": None,
        "complete": True,
        "segment": r.segment,
        "in_braze": r.in_braze,
        "not_recorded_count": len(r.not_recorded),
        "missing_count": len(r.missing),
        "not_recorded": r.not_recorded[:ROW_IDS].to_pylist(),
        "missing": r.missing[:ROW_IDS].to_pylist(),
        "unsent_baseline": r.unsent_baseline,
    }


BLIND_SPOT = (
    "    (no braze_segment: only recorded members were looked up; users holding the cohort "
    "without being recorded are not visible)"
)


def drift_report(
    config: Config,
    store: Store,
    cohort_ids: tuple[str, ...],
    *,
    sample: int | None,
    export: ExportSettings | None = None,
) -> DriftReport:
    """`cohortops drift`: complete for cohorts with a mirror segment, sampled for the others."""
    from cohortops.operations.drift_check import check_cohort, drift_lines, drift_rows

    lines: list[str] = ["Drift between the state and Braze:"]
    rows: list[dict[str, Any]] = []
    drifted = False
    for cid in cohort_ids:
        cohort = config.cohorts.get(cid)
        if cohort is not None and cohort.braze_segment is not None:
            result = segment_drift(config, store, cid, export)
            lines.extend(segment_drift_lines([result]))
            rows.append(segment_row(result, config.connection_of(cohort).delivery.method))
            drifted = drifted or result.drifted
            continue
        sampled = check_cohort(store, config, cid, sample=sample)
        lines.extend(drift_lines([sampled]))
        rows.extend({**row, "complete": False} for row in drift_rows([sampled]))
        if sampled.skipped_reason is None:
            lines.append(BLIND_SPOT)
        drifted = drifted or sampled.drifted
    return DriftReport(tuple(lines), drifted, tuple(rows))
