"""Notifications after a run or an apply: one report per cohort, recovery judged on the history."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping

from cohortops.config.model import Config
from cohortops.notify import deliver
from cohortops.notify.report import FAILURES, RunReport, RunResult
from cohortops.state import Store
from cohortops.state.logs import RunRecord


def last_results(store: Store, cohort_ids: Iterable[str]) -> dict[str, str | None]:
    """Each cohort's last recorded result, read before the run that may recover from it."""
    results: dict[str, str | None] = {}
    for cohort_id in cohort_ids:
        last = store.last_run(cohort_id)
        results[cohort_id] = last.result if last is not None else None
    return results


def with_recovery(report: RunReport, previous: str | None) -> RunReport:
    recovered = previous in FAILURES and not report.is_failure
    return dataclasses.replace(report, recovered=recovered)


_RESULTS: dict[str, RunResult] = {
    r: r for r in ("success", "failed", "partial", "no-changes", "blocked")
}


def report_of(
    record: RunRecord,
    name: str,
    previous: str | None = None,
    *,
    result: RunResult | None = None,
    error: str | None = None,
) -> RunReport:
    """The notification's view of a recorded run; ``result``/``error`` override the record's."""
    report = RunReport(
        cohort_id=record.cohort_id,
        cohort_name=name,
        trigger=record.trigger,
        result=result or _RESULTS.get(record.result, "failed"),  # interrupted, abandoned: failed
        started_at=record.started_at,
        ended_at=record.ended_at,
        added=record.added,
        removed=record.removed,
        failed=record.failed,
        total_members=record.total_members,
        error=error if error is not None else record.error,
        apply_id=record.apply_id,
    )
    return with_recovery(report, previous)


def notify_all(
    config: Config, reports: Iterable[RunReport], environ: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Deliver every report whose cohort declares ``notify``; one line per delivery."""
    for report in reports:
        cohort = config.cohorts.get(report.cohort_id)
        if cohort is None:
            continue
        for delivery in deliver(cohort.notify, report, environ=environ):
            yield delivery.line(report.cohort_id)
