"""`cohortops run`: apply the cohorts whose schedule is due (or the ones named with ``--now``).

Safe to call from cron or a CI schedule every few minutes: everything between choosing the due
cohorts and recording their runs happens under one state lock, and each run is recorded (even
a blocked or unchanged one), so the next call finds nothing due until the next occurrence.
Notifications go out after the lock is released; they never change the exit code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cohortops.apply.actor import Actor, detect_actor
from cohortops.apply.applier import ApplyResult, CohortOutcome
from cohortops.apply.progress import Progress
from cohortops.config.model import Cohort, Config
from cohortops.config.schedule import describe, due_at, next_at
from cohortops.errors import CohortopsError, Interrupted
from cohortops.notify import RunReport, RunResult
from cohortops.operations.apply_run import apply_plan
from cohortops.operations.context import App
from cohortops.operations.run_notices import last_results, notify_all, report_of, with_recovery
from cohortops.plan.model import CohortPlan, Plan
from cohortops.plan.summary import summarize
from cohortops.state import Store
from cohortops.state.logs import RunRecord

Clock = Callable[[], dt.datetime]
TIME = "%Y-%m-%d %H:%M UTC"


@dataclass(frozen=True)
class _Due:
    cohort_id: str
    since: dt.datetime | None  # the occurrence that made it due; None for a manual run


def run_due(
    app: App,
    *,
    now: dt.datetime,
    targets: tuple[str, ...] = (),
    manual: bool = False,
    echo: Callable[[str], None],
    overrides: frozenset[str] = frozenset(),
    progress: Progress | None = None,
    client_options: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    on_reports: Callable[[list[RunReport]], None] | None = None,
) -> int:
    """Run what is due at ``now`` (or, with ``manual``, exactly ``targets``); the exit code.

    ``on_reports`` receives every cohort's report once the run is over (``--format json``).

    Without ``manual``, ``targets`` narrows the scheduled cohorts considered. Exit code 1 when a
    cohort failed, was blocked by a guard or could not be planned; 0 otherwise.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if manual and not targets:
        raise CohortopsError("Name the cohorts to run now: `cohortops run --now COHORT`.")
    if overrides and not manual:
        raise CohortopsError(
            "Guard overrides apply only to cohorts run by hand (`--now COHORT`): an unattended "
            "schedule must not skip its guards."
        )
    env = os.environ if environ is None else environ
    config = app.config
    _check_known(config, targets)
    actor = detect_actor(trigger="manual" if manual else "schedule", environ=dict(env))
    started = time.monotonic()

    def clock() -> dt.datetime:
        return now + dt.timedelta(seconds=time.monotonic() - started)

    with app.store() as store, store.lock("run", actor.who):
        run = _Run(app, store, actor, clock, overrides, progress, client_options)
        chosen = (
            [_Due(t, None) for t in dict.fromkeys(targets)]
            if manual
            else _due(config, store, now, targets, echo)
        )
        if not chosen:
            echo(_nothing_due(config, now, targets))
            if on_reports is not None:
                on_reports([])
            return 0
        for item in chosen:
            echo(_due_line(config.cohorts[item.cohort_id], item))
        plan = app.plan(store, tuple(item.cohort_id for item in chosen))
        for warning in plan.warnings:
            where = f"{warning.cohort}: " if warning.cohort else ""
            echo(f"  warning: {where}{warning.message}")
        for guard in plan.guards:
            if guard.severity == "warn":
                echo(f"  warning ({guard.kind}): {guard.reason}")
        previous = last_results(store, (item.cohort_id for item in chosen))
        reports = [with_recovery(r, previous.get(r.cohort_id)) for r in run.execute(plan)]
    for report in reports:
        echo(_result_line(report))
    for line in run.mirror_lines:
        echo(line)
    for line in notify_all(config, reports, env):
        echo(line)
    if on_reports is not None:
        on_reports(reports)
    if run.fatal is not None:
        raise run.fatal
    failed = [r.cohort_id for r in reports if r.is_failure]
    if failed:
        echo(f"Run finished with failures: {', '.join(failed)}.")
        return 1
    return 0


def _check_known(config: Config, targets: tuple[str, ...]) -> None:
    unknown = [t for t in targets if t not in config.cohorts]
    if unknown:
        from cohortops.config.rules import suggest

        raise CohortopsError(
            f"Unknown cohort '{unknown[0]}'{suggest(unknown[0], sorted(config.cohorts))}"
        )


def _due(
    config: Config,
    store: Store,
    now: dt.datetime,
    targets: tuple[str, ...],
    echo: Callable[[str], None],
) -> list[_Due]:
    found = []
    for cohort_id in targets or sorted(config.cohorts):
        schedule = config.cohorts[cohort_id].schedule
        if schedule is None:
            if targets:
                echo(f"{cohort_id} has no schedule; run it with `cohortops run --now {cohort_id}`.")
            continue
        last = store.last_run(cohort_id)
        since = due_at(schedule, last.started_at if last else None, now)
        if since is not None:
            found.append(_Due(cohort_id, since))
    return found


def _nothing_due(config: Config, now: dt.datetime, targets: tuple[str, ...]) -> str:
    upcoming = []
    for cohort_id in targets or sorted(config.cohorts):
        schedule = config.cohorts[cohort_id].schedule
        when = next_at(schedule, now) if schedule is not None else None
        if when is not None:
            upcoming.append((when, cohort_id))
    if not upcoming:
        return "No cohort is due, and none is scheduled again."
    when, cohort_id = min(upcoming)
    return f"No cohort is due. Next: {cohort_id} at {when.strftime(TIME)}."


def _due_line(cohort: Cohort, item: _Due) -> str:
    if item.since is None:
        return f"Running {cohort.id} now (manual)."
    assert cohort.schedule is not None
    return (
        f"Running {cohort.id}: {describe(cohort.schedule)}, due since {item.since.strftime(TIME)}."
    )


def _result_line(report: RunReport) -> str:
    counts = f"+{report.added:,} / -{report.removed:,}, {report.total_members:,} members"
    failed = f", {report.failed:,} failed" if report.failed else ""
    error = f" — {report.error}" if report.error else ""
    return f"{report.cohort_id}: {report.result} ({counts}{failed}){error}"


class _Run:
    """One `run` under the lock: record what is not applied, apply the rest, report each."""

    def __init__(
        self,
        app: App,
        store: Store,
        actor: Actor,
        clock: Clock,
        overrides: frozenset[str],
        progress: Progress | None,
        client_options: dict[str, Any] | None,
    ) -> None:
        self.app = app
        self.store = store
        self.actor = actor
        self.clock = clock
        self.overrides = overrides
        self.progress = progress
        self.client_options = client_options
        self.started = clock()  # the run's start: the due cohorts were chosen at this instant
        self.fatal: CohortopsError | None = None
        self.mirror_lines: list[str] = []  # the warehouse mirror folds, said after the results

    def execute(self, plan: Plan) -> list[RunReport]:
        blocked = blocked_reasons(plan, self.overrides)
        reports: dict[str, RunReport] = {}
        for cp in plan.cohorts:
            if cp.errored is not None:
                reports[cp.cohort_id] = self._record(cp, "failed", cp.errored)
            elif cp.cohort_id in blocked:
                reports[cp.cohort_id] = self._record(cp, "blocked", blocked[cp.cohort_id])
            elif not cp.is_change:
                reports[cp.cohort_id] = self._record(cp, "no-changes", None)
        work = [cp for cp in plan.cohorts if cp.cohort_id not in reports]
        if work:
            try:
                result = self._apply(plan, work, reports)
            except Interrupted:
                raise
            except CohortopsError as exc:
                # The run as a whole failed (state unreachable, ...): the people watching these
                # cohorts hear about it, then the error ends the command as it would `apply`.
                self.fatal = exc
                for cp in work:
                    reports[cp.cohort_id] = self._report(cp, None, "failed", str(exc))
            else:
                for cp, outcome in _pair(work, result):
                    reports[cp.cohort_id] = self._applied(cp, outcome)
        return [reports[cp.cohort_id] for cp in plan.cohorts]

    def _apply(
        self, plan: Plan, work: list[CohortPlan], reports: dict[str, RunReport]
    ) -> ApplyResult:
        blocking = set(plan.blocking_guards(self.overrides))
        narrowed = dataclasses.replace(
            plan,
            cohorts=tuple(work),
            guards=tuple(g for g in plan.guards if g not in blocking),
            warnings=tuple(w for w in plan.warnings if w.cohort is None or w.cohort not in reports),
            summary=summarize(work),
        )
        applied = apply_plan(
            self.app,
            self.store,
            narrowed,
            self.overrides,
            self.actor,
            progress=self.progress,
            client_options=self.client_options,
            now=self.clock,
        )
        self.mirror_lines.extend(applied.mirror_lines)
        return applied.result

    def _record(self, cp: CohortPlan, result: RunResult, error: str | None) -> RunReport:
        record = self.store.record_run(
            RunRecord(
                cohort_id=cp.cohort_id,
                trigger=self.actor.trigger,
                started_at=self.started,
                ended_at=self.clock(),
                result=result,
                total_members=cp.recorded_count,
            )
        )
        return self._report(cp, record, result, error)

    def _applied(self, cp: CohortPlan, outcome: CohortOutcome | None) -> RunReport:
        record = self.store.last_run(cp.cohort_id)
        if outcome is None or record is None:
            return self._record(cp, "failed", "the apply stopped before this cohort")
        error = outcome.error
        if error is None and outcome.failed:
            error = (
                f"Braze rejected {len(outcome.failed):,} member change(s) (first: "
                f"{outcome.failed[0][0]}: {outcome.failed[0][1].rstrip('.')}); the next run "
                "retries them"
            )
        result: RunResult = (
            "failed" if outcome.error else ("partial" if outcome.failed else "success")
        )
        return self._report(cp, record, result, error)

    def _report(
        self, cp: CohortPlan, record: RunRecord | None, result: RunResult, error: str | None
    ) -> RunReport:
        if record is None:  # not recorded: the run failed before it could be
            record = RunRecord(
                cp.cohort_id,
                self.actor.trigger,
                self.started,
                self.clock(),
                result,
                total_members=cp.recorded_count,
            )
        return report_of(record, cp.name, result=result, error=error)


def blocked_reasons(plan: Plan, overrides: frozenset[str]) -> dict[str, str]:
    """Cohort id → why its guards refuse it, with the override that would let it through."""
    reasons: dict[str, list[str]] = {}
    changing = [cp.cohort_id for cp in plan.cohorts if cp.is_change]
    for guard in plan.blocking_guards(overrides):
        text = guard.reason
        cohorts = guard.cohorts or tuple(changing)  # a guard naming no cohort holds them all
        for cohort_id in cohorts:
            hint = (
                f" (to apply anyway: `cohortops run --now {cohort_id} {guard.override}`)"
                if guard.override
                else ""
            )
            reasons.setdefault(cohort_id, []).append(f"Blocked by guard: {text}{hint}")
    return {cid: "; ".join(texts) for cid, texts in reasons.items()}


def _pair(
    work: list[CohortPlan], result: ApplyResult
) -> list[tuple[CohortPlan, CohortOutcome | None]]:
    outcomes = {o.cohort_id: o for o in result.outcomes}
    return [(cp, outcomes.get(cp.cohort_id)) for cp in work]


def reports_json(reports: list[RunReport]) -> str:
    """Documented keys: cohort_id, trigger, result, started_at, ended_at, added, removed,
    failed, total_members, error, apply_id, recovered."""
    rows = [
        {
            "cohort_id": r.cohort_id,
            "trigger": r.trigger,
            "result": r.result,
            "started_at": r.started_at.isoformat(),
            "ended_at": r.ended_at.isoformat(),
            "added": r.added,
            "removed": r.removed,
            "failed": r.failed,
            "total_members": r.total_members,
            "error": r.error,
            "apply_id": r.apply_id,
            "recovered": r.recovered,
        }
        for r in reports
    ]
    return json.dumps(rows, indent=2)
