"""Carry out a plan against Braze without losing or inventing a change.

Phases over the whole plan: creates, renames and settings; then every removal (destroys
included); then every add, so an array attribute never overflows on the way. Each acknowledged
batch is handed to the state writer with its audit entry in the same transaction; nothing
unacknowledged is recorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cohortops.apply.actor import Actor
from cohortops.apply.members import iter_ids
from cohortops.apply.progress import Progress
from cohortops.apply.remote import Remote, SentBatch
from cohortops.apply.summary_lines import first_failure
from cohortops.braze import Batch, BatchExecutor, BrazeRetriesExhausted
from cohortops.braze.errors import BrazeUnreachableError
from cohortops.errors import BrazeError, CohortopsError, GuardBlockedError, Interrupted
from cohortops.membership import IdArray, MemberOp
from cohortops.plan.model import ChangeKind, CohortPlan, Plan
from cohortops.plan.settings import BASELINE_PENDING
from cohortops.state import Store
from cohortops.state.logs import ApplyJournal, RunRecord

ORDER = {"create": 0, "rename": 1, "update": 2, "destroy": 3}


@dataclass
class CohortOutcome:
    cohort_id: str
    action: ChangeKind
    added: int = 0
    removed: int = 0
    baseline: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    touched: bool = False  # some phase ran for it: it gets a run record


class ApplyInterrupted(Interrupted):
    """Ctrl-C: carries what was done, so the command can still print the summary."""

    def __init__(self, message: str, outcomes: tuple[CohortOutcome, ...]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


@dataclass(frozen=True)
class ApplyResult:
    apply_id: str
    outcomes: tuple[CohortOutcome, ...]

    @property
    def failed_members(self) -> int:
        return sum(len(o.failed) for o in self.outcomes)

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(f"{o.cohort_id}: {o.error}" for o in self.outcomes if o.error)


def check_guards(plan: Plan, overrides: frozenset[str]) -> None:
    blocking = plan.blocking_guards(overrides)
    if blocking:
        lines = "; ".join(
            f"{g.reason} (pass {g.override} to apply anyway)" if g.override else g.reason
            for g in blocking
        )
        raise GuardBlockedError(f"Apply refused by guards: {lines}")


class Applier:
    def __init__(
        self,
        plan: Plan,
        store: Store,
        remotes: Callable[[CohortPlan], Remote],
        *,
        actor: Actor,
        plan_digest: str,
        overrides: frozenset[str] = frozenset(),
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.plan = plan
        self.store = store
        self.remotes = remotes
        self.actor = actor
        self.digest = plan_digest
        self.overrides = overrides
        self.progress = progress or Progress(enabled=False)
        self.stop = stop or threading.Event()
        self.now = now
        self.apply_id = uuid.uuid4().hex[:12]
        self._halt: threading.Event | None = None  # the running executor's stop event
        self._unreachable: set[str] = set()  # destinations no connection opens to

    def request_stop(self) -> None:
        """Ctrl-C: start no new batch; in-flight ones finish and are recorded."""
        self.stop.set()
        if self._halt is not None:
            self._halt.set()

    def _audit(self, kind: str, cohort_id: str | None, data: Mapping[str, Any]) -> None:
        self.store.append_audit(
            kind, self.actor.who, cohort_id, {"apply_id": self.apply_id, **data}
        )

    def _record_abandoned(self, stale: ApplyJournal) -> None:
        """A killed apply's cohorts get a run row, so `history` shows what happened to them."""
        cohorts = stale.summary.get("cohorts", [])
        why = (
            f"apply {stale.apply_id} by {stale.who} stopped without finishing (killed or lost); "
            f"closed by apply {self.apply_id}"
        )
        for cohort_id in cohorts if isinstance(cohorts, list) else []:
            run = RunRecord(
                str(cohort_id), self.actor.trigger, stale.began_at, self.now(), "abandoned"
            )
            self.store.record_run(dataclasses.replace(run, apply_id=stale.apply_id, error=why))

    def run(self) -> ApplyResult:
        check_guards(self.plan, self.overrides)
        work = sorted(
            (c for c in self.plan.cohorts if c.is_change),
            key=lambda c: (ORDER[c.action], c.cohort_id),
        )
        used = sorted(
            {g.override for g in self.plan.guards if g.override and g.override in self.overrides}
        )
        summary = {
            "cohorts": [c.cohort_id for c in work],
            "members_to_add": self.plan.summary.members_to_add,
            "members_to_remove": self.plan.summary.members_to_remove,
        }
        for stale in self.store.unfinished_applies():
            # A process that died mid-apply; this apply re-sends whatever is still wanted.
            self.store.journal_end(stale.apply_id, "abandoned")
            self._record_abandoned(stale)
            self._audit(
                "apply.abandoned",
                None,
                {"abandoned": stale.apply_id, "who": stale.who, "began_at": str(stale.began_at)},
            )
        self.store.journal_begin(self.apply_id, self.digest, summary)
        self._audit(
            "apply.start", None, {"plan_digest": self.digest, **self.actor.as_dict(), **summary}
        )
        for flag in used:
            # One entry per cohort the override lets through, so `audit log --cohort` finds it.
            lifted = [g for g in self.plan.guards if g.override == flag]
            affected: list[str | None] = [*sorted({c for g in lifted for c in g.cohorts})]
            for cohort_id in affected or [None]:
                reasons = [g.reason for g in lifted if cohort_id is None or cohort_id in g.cohorts]
                self._audit("guard.override", cohort_id, {"flag": flag, "guards": reasons})
        self.progress.start(sum(c.removes + c.sent_adds for c in work))
        outcomes = {c.cohort_id: CohortOutcome(c.cohort_id, c.action) for c in work}
        self.outcomes = outcomes  # what is known so far, should the state become unreachable
        remotes: dict[str, Remote] = {}
        interrupted = False
        try:
            try:
                # Phases across the whole plan, not per cohort: every removal goes before any
                # add, so a user at an array attribute's limit never gets a new value (and
                # silently loses its oldest, maybe another cohort's) before losing an old one.
                for cohort in work:
                    self._step(cohort, outcomes, lambda c, o: self._prepare(c, remotes))
                for cohort in work:
                    self._step(
                        cohort, outcomes, lambda c, o: self._send_all(c, o, "remove", remotes)
                    )
                for cohort in work:
                    self._step(cohort, outcomes, lambda c, o: self._send_all(c, o, "add", remotes))
            except KeyboardInterrupt:
                interrupted = True
            interrupted = interrupted or self.stop.is_set()
        finally:
            self.progress.stop()
            started = [c for c in work if outcomes[c.cohort_id].touched]
            for cohort in started:
                self._finish_cohort(cohort, outcomes[cohort.cohort_id], interrupted)
            done = [outcomes[c.cohort_id] for c in started]
            result = (
                "interrupted"
                if interrupted
                else ("failed" if any(o.error for o in done) else "success")
            )
            self.store.journal_end(self.apply_id, result)
            self._audit(
                "apply.end",
                None,
                {
                    "result": result,
                    "added": sum(o.added for o in done),
                    "removed": sum(o.removed for o in done),
                    "failed": sum(len(o.failed) for o in done),
                },
            )
            self.store.flush()
        if not interrupted:
            # Once, not per cohort: a first build at 10M takes seconds; an interrupt skips it.
            self.store.index_audit()
        if interrupted:
            raise ApplyInterrupted(
                "Interrupted: in-flight batches were recorded; run `cohortops plan` to see what "
                "is left.",
                tuple(done),
            )
        return ApplyResult(self.apply_id, tuple(done))

    def _step(
        self,
        cohort: CohortPlan,
        outcomes: Mapping[str, CohortOutcome],
        action: Callable[[CohortPlan, CohortOutcome], None],
    ) -> None:
        """Run one phase for one cohort unless it already failed or the user stopped."""
        outcome = outcomes[cohort.cohort_id]
        if outcome.error is not None or self.stop.is_set():
            return
        if cohort.destination in self._unreachable:
            return  # said once, for the first cohort; the others are left for the next apply
        outcome.touched = True
        try:
            action(cohort, outcome)
        except BrazeUnreachableError as exc:
            outcome.error = str(exc)
            self._unreachable.add(cohort.destination)
        except CohortopsError as exc:
            outcome.error = str(exc)
        except Exception as exc:
            outcome.error = f"unexpected {type(exc).__name__}: {exc}"
            raise

    def _prepare(self, cohort: CohortPlan, remotes: dict[str, Remote]) -> None:
        remote = remotes[cohort.cohort_id] = self.remotes(cohort)
        if cohort.action == "rename" and cohort.moved_from:
            self.store.rename_cohort(cohort.moved_from, cohort.cohort_id)
            self._audit("cohort.rename", cohort.cohort_id, {"from": cohort.moved_from})
        # Until the baseline is recorded, the state says so: a crash in between must not turn
        # the baseline into a backfill on the next plan.
        settings = (
            {**cohort.settings, BASELINE_PENDING: True} if cohort.baseline else cohort.settings
        )
        if cohort.needs_remote_create or cohort.needs_remote_rename:
            remote.ensure_cohort(cohort, created_at=self.now())
            self.store.upsert_cohort(
                cohort.cohort_id, settings, remote_created=True, remote_name=cohort.name
            )
            kind = "cohort.create" if cohort.needs_remote_create else "cohort.remote_rename"
            self._audit(
                kind, cohort.cohort_id, {"name": cohort.name, "remote_id": cohort.remote_id}
            )
        elif cohort.action != "destroy":
            self.store.upsert_cohort(cohort.cohort_id, settings)

    def _send_all(
        self,
        cohort: CohortPlan,
        outcome: CohortOutcome,
        op: MemberOp,
        remotes: Mapping[str, Remote],
    ) -> None:
        if op == "add" and cohort.baseline:
            self._record_baseline(cohort, outcome)
            self.store.flush()
            self.store.upsert_cohort(cohort.cohort_id, cohort.settings)
            return
        members = cohort.to_add if op == "add" else cohort.to_remove
        self._send(cohort, op, members, remotes[cohort.cohort_id], outcome)

    def _record_baseline(self, cohort: CohortPlan, outcome: CohortOutcome) -> None:
        """backfill_existing: false — current members are recorded, not sent."""
        chunk: list[str] = []
        for member in iter_ids(cohort.to_add):
            chunk.append(member)
            if len(chunk) >= 10_000:
                self._record(cohort, "add", chunk, baseline=True)
                outcome.baseline += len(chunk)
                chunk = []
        if chunk:
            self._record(cohort, "add", chunk, baseline=True)
            outcome.baseline += len(chunk)

    def _record(
        self, cohort: CohortPlan, op: MemberOp, ids: list[str], *, baseline: bool = False
    ) -> None:
        audit = {
            "apply_id": self.apply_id,
            "action": op,
            "members": ids,
            "remote_id": cohort.remote_id,
            "baseline": baseline,
        }
        self.store.record_batch(cohort.cohort_id, op, ids, audit=audit)

    def _send(
        self,
        cohort: CohortPlan,
        op: MemberOp,
        members: IdArray,
        remote: Remote,
        outcome: CohortOutcome,
    ) -> None:
        if not len(members) or self.stop.is_set():
            return
        batches = remote.batches(cohort, op, iter_ids(members))
        failure: list[BrazeError] = []
        halt = self._halt = threading.Event()

        def on_done(result: SentBatch) -> None:
            acknowledged = list(result.acknowledged)
            if acknowledged:
                self._record(cohort, op, acknowledged)
                if op == "add":
                    outcome.added += len(acknowledged)
                else:
                    outcome.removed += len(acknowledged)
            # Every id of the batch is in exactly one of acknowledged/failed, a failed request
            # included: counting its ids again would report each of them twice.
            outcome.failed.extend(result.failed)
            self.progress.advance(len(result.batch.ids))
            if result.error is not None:
                if not failure:
                    failure.append(result.error)
                # Bad keys, missing permissions and exhausted retries fail every later request
                # too; a 400 for one batch's payload does not stop the others.
                if getattr(result.error, "aborts_run", False) or isinstance(
                    result.error, BrazeRetriesExhausted
                ):
                    halt.set()

        executor = BatchExecutor(remote.requests_per_second, expected_latency=remote.latency)
        requests: Iterable[Batch] = batches
        try:
            executor.run(requests, remote.send, on_done, stop=halt)
        finally:
            self._halt = None
        outcome.failed.extend(batches.invalid)
        if failure:
            raise failure[0]

    def _finish_cohort(self, cohort: CohortPlan, outcome: CohortOutcome, interrupted: bool) -> None:
        outcome.seconds = time.monotonic() - outcome.started
        self.store.flush()
        planned = cohort.removes + cohort.adds
        complete = outcome.removed + outcome.added + outcome.baseline + len(outcome.failed)
        unfinished = interrupted and complete < planned
        if (
            cohort.action == "destroy"
            and outcome.error is None
            and not outcome.failed
            and not unfinished
            and (cohort.kept or self.store.recorded_members(cohort.cohort_id).count == 0)
        ):
            # Only once Braze acknowledged every removal: forgetting earlier would leave
            # members in Braze that no state claims. An additive cohort's members stay.
            self.store.forget_cohort(cohort.cohort_id)
            data = {"removed": outcome.removed, **({"kept": cohort.kept} if cohort.kept else {})}
            self._audit("cohort.destroy", cohort.cohort_id, data)
        elif self.store.has_cohort(cohort.cohort_id):  # absent if it failed before any write
            self.store.mark_applied(cohort.cohort_id, self.now())
            self.store.compact(cohort.cohort_id)
        ended = self.now()
        started = ended - dt.timedelta(seconds=outcome.seconds)
        total = cohort.recorded_count + outcome.added + outcome.baseline - outcome.removed
        if outcome.error:
            result = "failed"
        elif unfinished:
            result = "interrupted"
        else:
            result = "partial" if outcome.failed else "success"
        self.store.record_run(
            RunRecord(
                cohort_id=cohort.cohort_id,
                trigger=self.actor.trigger,
                started_at=started,
                ended_at=ended,
                result=result,
                added=outcome.added + outcome.baseline,
                removed=outcome.removed,
                failed=len(outcome.failed),
                total_members=total,
                apply_id=self.apply_id,
                error=outcome.error or first_failure(outcome.failed),
            )
        )
