"""What an apply tells its reader per cohort: counts, time, and which members failed and why."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cohortops.apply.applier import CohortOutcome

FAILED_SHOWN = 10  # failed members named in the summary, per cohort


def first_failure(failed: list[tuple[str, str]]) -> str | None:
    if not failed:
        return None
    member, reason = failed[0]
    return (
        f"Braze rejected {len(failed):,} member change(s) (first: {member}: {reason.rstrip('.')})"
    )


def summarize(outcomes: Iterable[CohortOutcome]) -> list[str]:
    lines = []
    for o in outcomes:
        failed = f", {len(o.failed):,} failed" if o.failed else ""
        base = f", {o.baseline:,} recorded as baseline" if o.baseline else ""
        err = f" — {o.error}" if o.error else ""
        lines.append(
            f"  {o.cohort_id}: +{o.added:,} / -{o.removed:,}{base}{failed} in {o.seconds:.1f} s{err}"
        )
        lines.extend(_failed_lines(o.failed))
    return lines


def _failed_lines(failed: list[tuple[str, str]]) -> list[str]:
    """Name the failed members, grouped by reason: the reader has to find out why."""
    by_reason: dict[str, list[str]] = {}
    for member, reason in failed:
        by_reason.setdefault(reason, []).append(member)
    lines = []
    for reason, members in by_reason.items():
        shown = ", ".join(members[:FAILED_SHOWN])
        more = f" and {len(members) - FAILED_SHOWN:,} more" if len(members) > FAILED_SHOWN else ""
        lines.append(f"    failed ({reason.rstrip('.')}): {shown}{more}")
    return lines
