"""`cohortops apply`: lock, plan or load, check freshness and guards, confirm, apply, report."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from cohortops.apply.actor import Actor
from cohortops.apply.applier import Applier, ApplyInterrupted, check_guards
from cohortops.apply.lytics_remote import LyticsClients
from cohortops.apply.progress import Progress
from cohortops.apply.remote import BrazeRemote, Remote, make_client
from cohortops.apply.summary_lines import summarize
from cohortops.braze import BrazeClient
from cohortops.config.model import CohortImportDelivery, Config
from cohortops.errors import ApplyError, CohortopsError, StateError
from cohortops.operations.braze_members import ExportSettings
from cohortops.operations.cancel import CancelWatcher
from cohortops.operations.context import App, check_fresh
from cohortops.operations.fold_mirror import Applied, after_apply, before_apply
from cohortops.operations.refresh import (
    RefreshedPlan,
    drift_lines,
    plan_refreshed,
    record_refreshed,
)
from cohortops.operations.run_notices import last_results, notify_all, report_of
from cohortops.plan.model import CohortPlan, Plan
from cohortops.plan.planfile import plan_digest, read_plan
from cohortops.state import Store
from cohortops.state.logs import RunRecord


class StateLost(StateError):
    """The state became unreachable mid-apply; carries what Braze acknowledged so far."""

    def __init__(self, cause: StateError, apply_id: str, outcomes: tuple[Any, ...]) -> None:
        detail = str(cause).rstrip(".")
        super().__init__(
            f"Apply {apply_id} lost its connection to the PostgreSQL state: {detail}.",
            hint="Batches Braze acknowledged before the loss were recorded; those in flight were "
            "not, and the next apply re-sends them (adds and removes are idempotent). The lock "
            "died with the connection: check the database, then run `cohortops apply` again.",
        )
        self.outcomes = outcomes


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a dropped database connection."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if type(seen).__name__ == "OperationalError" or any(
            w in text for w in ("connection is closed", "terminating connection", "server closed")
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


SIGTERM_EXIT = 128 + signal.SIGTERM  # 143, what CI cancellation, Docker and systemd expect


class _StopOnSigint:
    """First Ctrl-C or SIGTERM: stop starting batches and record in-flight ones. Second: abort
    now. SIGTERM (CI cancellation, ``docker stop``, systemd) is treated as Ctrl-C."""

    def __init__(self, applier: Applier) -> None:
        self.applier = applier
        self.previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
        self.hits = 0
        self.signum: int | None = None

    def __enter__(self) -> _StopOnSigint:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.hits += 1
        self.signum = self.signum or signum
        if self.hits > 1:
            raise KeyboardInterrupt
        what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(
            f"\nStopping ({what}): finishing in-flight batches and recording them "
            "(Ctrl-C again to abort).",
            file=sys.stderr,
            flush=True,
        )
        self.applier.request_stop()

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self.previous.items():
            if previous is not None:
                signal.signal(signum, previous)


def apply_command(
    app: App,
    planfile: Path | None,
    targets: tuple[str, ...],
    overrides: frozenset[str],
    confirm: Callable[[str], bool],
    render: Callable[[Plan, str], str],
    **options: Any,
) -> Iterator[str]:
    """See :func:`_apply_command`; a lost state connection is reported as its first cause,
    not as the failure to release the lock that follows it."""
    lost: list[StateLost] = []
    try:
        yield from _apply_command(
            app, planfile, targets, overrides, confirm, render, lost=lost, **options
        )
    except StateError:
        if lost:
            raise lost[0] from None
        raise


def _apply_command(
    app: App,
    planfile: Path | None,
    targets: tuple[str, ...],
    overrides: frozenset[str],
    confirm: Callable[[str], bool],
    render: Callable[[Plan, str], str],
    *,
    progress: Progress | None = None,
    client_options: dict[str, Any] | None = None,
    refresh: bool = False,
    resync: tuple[str, ...] = (),
    export: ExportSettings | None = None,
    lost: list[StateLost],
) -> Iterator[str]:
    """``refresh``/``resync``: plan against what Braze holds (see ``refresh``), and record it
    in the state just before sending."""
    actor = app.actor()
    refreshed: RefreshedPlan | None = None
    saved: Plan | None = None
    if planfile is not None:  # refusals that need no state come before opening (creating) it
        if targets or refresh or resync:
            raise CohortopsError(
                "--cohort, --refresh and --resync cannot change a saved plan; make the plan "
                "with them instead (a refreshed plan is applied with apply --refresh)."
            )
        saved = read_plan(planfile)
        refuse_errored(saved, planfile)
    with app.store() as store, store.lock("apply", actor.who):
        if saved is not None:
            plan = saved
            check_fresh(plan, store.snapshot(), app.config)
        elif refresh or resync:
            refreshed = plan_refreshed(
                app, store, targets, refresh=refresh, resync=resync, export=export
            )
            plan = refreshed.plan
        else:
            plan = app.plan(store, targets)
        drift = "\n".join(drift_lines(refreshed)) if refreshed is not None else ""
        if not plan.has_changes:
            from cohortops.operations.make_plan import close_unfinished

            plan, closed = close_unfinished(plan, store, actor.who)
            yield render(plan, "text").rstrip("\n")
            yield from closed
            record_failed_runs(store, plan, actor, None)
            if drift:
                yield drift
            if refreshed is not None and refreshed.braze:
                record_refreshed(app.config, store, refreshed)
            _check_planned(plan)  # a source that failed is not "no changes"
            return
        # Refusals come before the question, not after the answer.
        check_guards(plan, overrides)
        try:
            check_secrets(app.config, plan)
        except CohortopsError as exc:
            record_failed_runs(store, plan, actor, str(exc))
            raise
        if planfile is not None:
            yield render(plan, "text").rstrip("\n")  # the reviewed plan was approved in review
        elif not confirm(render(plan, "text") + (drift + "\n" if drift else "")):
            raise CohortopsError("Apply cancelled; nothing was sent.")
        changed = [c.cohort_id for c in plan.cohorts if c.is_change]
        previous = last_results(store, changed)
        if refreshed is not None:
            if drift:
                yield drift
            record_refreshed(app.config, store, refreshed)
        try:
            applied = apply_plan(
                app,
                store,
                plan,
                overrides,
                actor,
                progress=progress,
                client_options=client_options,
            )
        except ApplyInterrupted as stopped:
            yield "Apply interrupted; recorded so far:"
            yield from summarize(stopped.outcomes)
            raise
        except StateLost as gone:
            lost.append(gone)
            yield (
                "Apply stopped: the state connection was lost. Acknowledged so far (recorded up "
                "to the loss; the rest is re-sent):"
            )
            yield from summarize(gone.outcomes)
            raise
        result = applied.result
        yield f"Apply {result.apply_id} finished:"
        yield from summarize(result.outcomes)
        yield from applied.mirror_lines
        from cohortops.operations.audit_report import head_line

        yield head_line(store)
        # A manual apply tells the same people a scheduled run would.
        records = [
            r
            for c in changed
            if (r := store.last_run(c)) is not None and r.apply_id == result.apply_id
        ]
        names = {c.cohort_id: c.name for c in plan.cohorts}
        reports = [report_of(r, names[r.cohort_id], previous[r.cohort_id]) for r in records]
        yield from notify_all(app.config, reports)
        skipped = [c.cohort_id for c in plan.cohorts if c.errored]
        record_failed_runs(store, plan, actor, None)
        if skipped:
            yield f"Not applied (planning failed): {', '.join(skipped)}"
        if result.errors:
            raise ApplyError(
                "Apply failed for "
                + "; ".join(e.rstrip(".") for e in result.errors)
                + ". Acknowledged changes are recorded; fix the cause and run `cohortops apply` "
                "again."
            )
        if result.failed_members:
            raise ApplyError(
                f"Braze rejected {result.failed_members:,} member change(s); they stay out of "
                "the state and the next plan retries them."
            )
        _check_planned(plan)


def record_failed_runs(store: Store, plan: Plan, actor: Actor, error: str | None) -> None:
    """Runs that never reached Braze still get a history row saying why.

    With ``error``, every cohort the plan would change failed for that reason (a missing
    variable, say); without, only the cohorts that failed to plan, each for its own reason.
    """
    now = dt.datetime.now(dt.UTC)
    for cohort in plan.cohorts:
        why = error if error is not None and cohort.is_change else cohort.errored
        if why is None:
            continue
        store.record_run(
            RunRecord(
                cohort_id=cohort.cohort_id,
                trigger=actor.trigger,
                started_at=now,
                ended_at=now,
                result="failed",
                total_members=cohort.recorded_count,
                error=why.splitlines()[0] if why else why,
            )
        )
    store.flush()


def check_secrets(config: Config, plan: Plan) -> None:
    """Resolve every secret the plan will need before the first request, not halfway through."""
    for cohort in plan.cohorts:
        if not cohort.is_change:
            continue
        destination = config.destinations.get(cohort.destination)
        connection = config.connections.get(cohort.connection)
        if destination is None or connection is None:
            missing = cohort.destination if destination is None else cohort.connection
            raise ApplyError(
                f"The plan for cohort '{cohort.cohort_id}' uses '{missing}', which the "
                "configuration no longer declares; make a new plan."
            )
        needed = [destination.rest_endpoint, destination.api_key]
        if isinstance(connection.delivery, CohortImportDelivery):
            needed += [connection.delivery.partner_api_key, connection.delivery.client_secret]
            if connection.delivery.rest_endpoint is not None:
                needed.append(connection.delivery.rest_endpoint)
        for secret in needed:
            secret.reveal()


def apply_plan(
    app: App,
    store: Store,
    plan: Plan,
    overrides: frozenset[str],
    actor: Actor,
    *,
    progress: Progress | None = None,
    client_options: dict[str, Any] | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> Applied:
    """Carry out ``plan`` with ``store``'s lock already held by the caller, then fold its
    changes into the warehouse mirrors (every caller: a stale mirror costs a whole push).

    Refuses blocking guards that ``overrides`` does not cover; per-cohort failures are in the
    result (and in the run history), not raised. ``now`` is the clock of recorded times.
    """
    check_secrets(app.config, plan)
    mirrors = before_apply(app.config, store, (c.cohort_id for c in plan.cohorts if c.is_change))
    clients: dict[tuple[str, str | None], BrazeClient] = {}

    lytics = LyticsClients(client_options)

    def remote_for(cohort: CohortPlan) -> Remote:
        # check_secrets made sure the destination and connection are still declared.
        destination = app.config.destinations[cohort.destination]
        if destination.kind == "lytics":
            return lytics.remote(destination, cohort)
        delivery = app.config.connections[cohort.connection].delivery
        override = delivery.rest_endpoint if isinstance(delivery, CohortImportDelivery) else None
        cohort_endpoint = override.reveal() if override is not None else None
        key = (cohort.destination, cohort_endpoint)
        if key not in clients:
            clients[key] = make_client(
                destination, cohort_endpoint=cohort_endpoint, **(client_options or {})
            )
        return BrazeRemote(clients[key], app.config, cohort)

    applier = Applier(
        plan,
        store,
        remote_for,
        actor=actor,
        plan_digest=plan_digest(plan),
        overrides=overrides,
        progress=progress or Progress(enabled=True),
        now=now or (lambda: dt.datetime.now(dt.UTC)),
    )
    where = app.state_location  # the state this apply holds, not the working directory's
    watcher = CancelWatcher(
        where.state, lambda: applier.apply_id, applier.request_stop, base=where.base
    )
    stopper = _StopOnSigint(applier)
    try:
        with stopper, watcher:
            result = applier.run()
    except ApplyInterrupted as stopped:
        if stopper.signum == signal.SIGTERM:
            stopped.exit_code = SIGTERM_EXIT
        if watcher.seen is not None:
            store.append_audit(
                "apply.cancel",
                watcher.seen.who,
                None,
                {"apply_id": applier.apply_id, "requested_at": watcher.seen.at},
            )
        raise
    except StateError as exc:
        if isinstance(exc, StateLost) or not connection_lost(exc):
            raise
        known = getattr(applier, "outcomes", {})
        done = tuple(o for o in known.values() if o.touched)
        raise StateLost(exc, applier.apply_id, done) from exc
    finally:
        lytics.close()
        for client in clients.values():
            client.close()
    return Applied(result, tuple(after_apply(store, mirrors)))


def refuse_errored(plan: Plan, planfile: Path) -> None:
    """A plan in which a cohort could not be planned is not a plan: refused whole."""
    errored = [c.cohort_id for c in plan.cohorts if c.errored is not None]
    if errored:
        raise ApplyError(
            f"Plan file {planfile} is not a complete plan: {', '.join(errored)} could not be "
            "planned, so nothing of it is applied. Fix the cause and make a new plan."
        )


def _check_planned(plan: Plan) -> None:
    if plan.has_errors:
        raise ApplyError(
            "Some cohorts could not be planned and were not applied; see the plan output above, "
            "fix their sources and run `cohortops apply` again."
        )
