"""`cohortops run` end to end: a project on disk, the sandbox in a thread, SQLite state, real SMTP.

Time is injected (``now``): the run history records instants on that clock, so successive calls
move through days without sleeping.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from apply.conftest import make_project, pg_schema, pycache, start_sandbox
from apply.harness import FAST_CLIENT, CohortSpec, Project, assert_converged, ids
from notify.conftest import SmtpServer, WebhookReceiver, closed_port, smtp_server, webhook

from cohortops.apply.progress import Progress
from cohortops.errors import CohortopsError, LockBusyError
from cohortops.operations.scheduled_runs import run_due
from cohortops.state.logs import RunRecord

MakeProject = Any
UTC = dt.UTC
# Sunday 2024-03-10 12:00 UTC: 06:00 Paris was 05:00 UTC; New York sprang forward at 07:00 UTC.
SUNDAY = dt.datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
DAILY = {"every": "daily", "at": "06:00", "timezone": "Europe/Paris"}
MONDAY = {"every": "weekly", "weekday": "monday", "at": "07:30", "timezone": "America/New_York"}
LATER = {"every": "once", "date": "2024-04-01", "at": "09:00", "timezone": "UTC"}

__all__ = ["make_project", "pg_schema", "pycache", "smtp_server", "start_sandbox", "webhook"]


def run(
    project: Project,
    now: dt.datetime,
    *targets: str,
    manual: bool = False,
    overrides: frozenset[str] = frozenset(),
) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_due(
        project.app(),
        now=now,
        targets=targets,
        manual=manual,
        echo=lines.append,
        overrides=overrides,
        progress=Progress(enabled=False),
        client_options=dict(FAST_CLIENT),
    )
    return code, lines


def history(project: Project, cohort_id: str | None = None) -> list[RunRecord]:
    with project.store() as store:
        return list(reversed(store.runs(cohort_id)))


def serial(project: Project) -> int:
    with project.store() as store:
        return store.snapshot().serial


@pytest.fixture
def project(
    make_project: MakeProject, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Project:
    made: Project = make_project(population=1_000)
    for name, value in smtp_server.env().items():
        monkeypatch.setenv(name, value)
    return made


def test_due_cohorts_are_applied_and_others_are_not(
    project: Project, smtp_server: SmtpServer
) -> None:
    notify = {"email": ["growth@example.com"]}
    project.write(
        {
            "daily": CohortSpec(
                "cohort_import", ids("u", 0, 100), {"schedule": DAILY, "notify": notify}
            ),
            "weekly": CohortSpec("attribute", ids("u", 100, 150), {"schedule": MONDAY}),
            "later": CohortSpec("attribute", ids("u", 200, 210), {"schedule": LATER}),
            "plain": CohortSpec("attribute", ids("u", 300, 310)),
        }
    )
    code, lines = run(project, SUNDAY)
    assert code == 0, lines
    # Never run: each is due at its latest occurrence; `once` in the future and no schedule: not.
    assert "Running daily: daily at 06:00 Europe/Paris, due since 2024-03-10 05:00 UTC." in lines
    assert (
        "Running weekly: weekly on Monday at 07:30 America/New_York, due since "
        "2024-03-04 12:30 UTC." in lines
    )
    assert "daily: success (+100 / -0, 100 members)" in lines
    assert project.recorded() == {"daily": set(ids("u", 0, 100)), "weekly": set(ids("u", 100, 150))}
    remote = project.remote()
    for cohort_id, (method, remote_id) in project.remote_ids().items():
        assert remote.members(method, remote_id) == project.recorded()[cohort_id]
    runs = history(project)
    # newest start first: history is in time order, not in the order runs were recorded
    assert sorted((r.cohort_id, r.trigger, r.result, r.added) for r in runs) == [
        ("daily", "schedule", "success", 100),
        ("weekly", "schedule", "success", 50),
    ]
    assert [r.started_at for r in runs] == sorted(r.started_at for r in runs)
    assert all(
        SUNDAY <= r.started_at <= r.ended_at < SUNDAY + dt.timedelta(minutes=1) for r in runs
    )
    # Only daily asks for email; its changes are the default `on` event.
    [mail] = smtp_server.messages
    assert mail.recipients == ("growth@example.com",)
    assert mail.message["Subject"] == "[cohortops] daily: +100 / -0 members"
    assert "Trigger: schedule" in mail.message.get_content().splitlines()
    assert f"  daily: notified by email (1 recipient(s) via 127.0.0.1:{smtp_server.port})" in lines

    # cron calls again a few minutes later: nothing is due, nothing is written.
    before, requests = serial(project), project.sandbox.counters()["requests_total"]
    code, lines = run(project, SUNDAY + dt.timedelta(minutes=5))
    assert (code, lines) == (0, ["No cohort is due. Next: daily at 2024-03-11 05:00 UTC."])
    assert serial(project) == before
    assert project.sandbox.counters()["requests_total"] == requests
    assert len(history(project)) == 2 and len(smtp_server.messages) == 1


def test_missed_runs_run_once_and_unchanged_cohorts_are_recorded(
    project: Project, smtp_server: SmtpServer
) -> None:
    project.write({"daily": CohortSpec("attribute", ids("u", 0, 100), {"schedule": DAILY})})
    assert run(project, SUNDAY)[0] == 0
    # Five days without a run (the runner was down); the source moved on meanwhile.
    project.write({"daily": CohortSpec("attribute", ids("u", 20, 120), {"schedule": DAILY})})
    friday = SUNDAY + dt.timedelta(days=5)
    code, lines = run(project, friday)
    assert code == 0, lines
    assert "Running daily: daily at 06:00 Europe/Paris, due since 2024-03-15 05:00 UTC." in lines
    assert [(r.result, r.added, r.removed) for r in history(project)] == [
        ("success", 100, 0),
        ("success", 20, 20),
    ]
    assert run(project, friday + dt.timedelta(hours=3))[1][0].startswith("No cohort is due.")

    # The next occurrence with an unchanged source: recorded as "no-changes", no email (the
    # default `on` is failure and changes), and the one after that is not due again.
    saturday = friday + dt.timedelta(days=1)
    code, lines = run(project, saturday)
    assert code == 0 and "daily: no-changes (+0 / -0, 100 members)" in lines
    last = history(project)[-1]
    assert (last.result, last.trigger, last.total_members) == ("no-changes", "schedule", 100)
    assert run(project, saturday + dt.timedelta(minutes=5))[1][0].startswith("No cohort is due.")
    assert smtp_server.messages == []
    assert_converged(project)


def test_now_runs_the_named_cohorts_regardless_of_schedule(
    project: Project, smtp_server: SmtpServer
) -> None:
    notify = {"email": ["ops@example.com"], "on": ["success"]}
    project.write(
        {
            "later": CohortSpec(
                "cohort_import", ids("u", 0, 30), {"schedule": LATER, "notify": notify}
            ),
            "plain": CohortSpec("attribute", ids("u", 100, 110)),
            "daily": CohortSpec("attribute", ids("u", 200, 210), {"schedule": DAILY}),
        }
    )
    code, lines = run(project, SUNDAY, "later", "plain", manual=True)
    assert code == 0, lines
    assert lines[:2] == ["Running later now (manual).", "Running plain now (manual)."]
    assert set(project.recorded()) == {"later", "plain"}  # daily is due, but was not named
    assert sorted((r.cohort_id, r.trigger) for r in history(project)) == [
        ("later", "manual"),
        ("plain", "manual"),
    ]
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "[cohortops] later: +30 / -0 members"
    assert "Trigger: manual" in mail.message.get_content().splitlines()

    # A manual run counts as the latest run: the schedule waits for its next occurrence... but
    # `once` on 2024-04-01 is after the manual run, so it still runs then, once.
    april = dt.datetime(2024, 4, 1, 9, 1, tzinfo=UTC)
    code, lines = run(project, april, "later")
    assert code == 0 and "later: no-changes (+0 / -0, 30 members)" in lines
    assert run(project, april + dt.timedelta(days=1), "later")[1] == [
        "No cohort is due, and none is scheduled again."
    ]
    # Naming an unscheduled cohort without --now explains how to run it.
    assert run(project, april, "plain")[1][0] == (
        "plain has no schedule; run it with `cohortops run --now plain`."
    )


def test_usage_errors(project: Project) -> None:
    project.write({"daily": CohortSpec("attribute", ids("u", 0, 10), {"schedule": DAILY})})
    with pytest.raises(CohortopsError, match=r"Unknown cohort 'dayly'.*daily"):
        run(project, SUNDAY, "dayly", manual=True)
    with pytest.raises(CohortopsError, match="Name the cohorts to run now"):
        run(project, SUNDAY, manual=True)
    with pytest.raises(CohortopsError, match="only to cohorts run by hand"):
        run(project, SUNDAY, overrides=frozenset({"--allow-mass-removal"}))
    with pytest.raises(ValueError, match="timezone-aware"):
        run(project, SUNDAY.replace(tzinfo=None))
    assert history(project) == []


def test_blocked_guard_is_recorded_and_notified_as_a_failure(
    project: Project,
    smtp_server: SmtpServer,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_URL", webhook.url)
    guarded = {
        "schedule": DAILY,
        "guards": {"max_remove_percent": 20},
        "notify": {
            "email": ["growth@example.com"],
            "webhook": "${env:HOOK_URL}",
            "on": ["failure"],
        },
    }
    other = {"schedule": DAILY}
    project.write(
        {
            "guarded": CohortSpec("attribute", ids("u", 0, 100), guarded),
            "other": CohortSpec("attribute", ids("u", 500, 510), other),
        }
    )
    assert run(project, SUNDAY)[0] == 0
    assert smtp_server.messages == [] and webhook.requests == []  # success: not an `on` event
    recorded = project.recorded()
    project.write(
        {
            "guarded": CohortSpec("attribute", ids("u", 0, 50), guarded),  # -50% > 20%
            "other": CohortSpec("attribute", ids("u", 500, 520), other),
        }
    )
    monday = SUNDAY + dt.timedelta(days=1)
    code, lines = run(project, monday)
    assert code == 1
    assert "other: success (+10 / -0, 20 members)" in lines
    blocked_line = next(line for line in lines if line.startswith("guarded: blocked"))
    assert "--allow-mass-removal" in blocked_line
    assert lines[-1] == "Run finished with failures: guarded."
    # Not applied: the state and Braze still hold all 100; the other cohort went ahead.
    assert project.recorded()["guarded"] == recorded["guarded"]
    assert project.recorded()["other"] == set(ids("u", 500, 520))
    last = history(project, "guarded")[-1]
    assert (last.result, last.trigger, last.added, last.removed, last.total_members) == (
        "blocked",
        "schedule",
        0,
        0,
        100,
    )
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "[cohortops] BLOCKED: guarded was not applied"
    reason = "guarded would remove 50 of 100 recorded members (50.0%)"
    body = mail.message.get_content().splitlines()
    assert "Result: blocked" in body
    [error] = [line for line in body if line.startswith("Error: Blocked by guard: ")]
    assert reason in error and "`cohortops run --now guarded --allow-mass-removal`" in error
    [hook] = webhook.requests
    assert hook.body["cohortops"]["result"] == "blocked"
    assert hook.body["cohortops"]["error"] == error.removeprefix("Error: ")
    assert hook.body["text"].startswith("[cohortops] BLOCKED: guarded was not applied\n")

    # Recorded, so cron does not retry (and re-notify) every few minutes.
    assert run(project, monday + dt.timedelta(minutes=5))[1][0].startswith("No cohort is due.")
    # A person looks at it and lets it through by hand.
    code, lines = run(
        project,
        monday + dt.timedelta(hours=1),
        "guarded",
        manual=True,
        overrides=frozenset({"--allow-mass-removal"}),
    )
    assert code == 0, lines
    assert project.recorded()["guarded"] == set(ids("u", 0, 50))
    assert history(project, "guarded")[-1].result == "success"
    assert_converged(project)


def test_source_failure_is_recorded_and_notified(project: Project, smtp_server: SmtpServer) -> None:
    notify = {"email": ["growth@example.com"]}
    project.write(
        {
            "broken": CohortSpec(
                "attribute", ids("u", 0, 10), {"schedule": DAILY, "notify": notify}
            ),
            "fine": CohortSpec("attribute", [*ids("u", 10, 20), "x" * 300], {"schedule": DAILY}),
        }
    )
    (project.configs / "data" / "broken.csv").unlink()
    code, lines = run(project, SUNDAY)
    assert code == 1
    assert any(
        line.startswith("  warning (source_rows_skipped): 1 source row of fine was skipped")
        for line in lines
    ), lines
    assert any(line.startswith("broken: failed") and "broken.csv" in line for line in lines), lines
    assert set(project.recorded()) == {"fine"}
    assert [(r.cohort_id, r.result) for r in history(project)] == [
        ("broken", "failed"),
        ("fine", "success"),
    ]
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "[cohortops] FAILED: broken"


def test_failing_notification_is_a_warning_not_a_failure(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHORTOPS_SMTP_PORT", str(closed_port()))
    monkeypatch.setenv("COHORTOPS_SMTP_PASSWORD", "smtp-password-value")
    monkeypatch.setenv("COHORTOPS_SMTP_USER", "robot")
    notify = {"email": ["growth@example.com"]}
    project.write(
        {"daily": CohortSpec("attribute", ids("u", 0, 10), {"schedule": DAILY, "notify": notify})}
    )
    code, lines = run(project, SUNDAY)
    assert code == 0
    [warning] = [line for line in lines if "warning" in line]
    assert warning.startswith("  warning: daily: email notification failed: SMTP 127.0.0.1:")
    assert "connection refused" in warning
    assert all("smtp-password-value" not in line for line in lines)
    assert history(project)[-1].result == "success"


def test_a_second_concurrent_run_fails_fast_on_the_lock(project: Project) -> None:
    project.write({"daily": CohortSpec("attribute", ids("u", 0, 10), {"schedule": DAILY})})
    with (
        project.store() as store,
        store.lock("run", "cron@other-host"),
        pytest.raises(LockBusyError, match="cron@other-host") as caught,
    ):
        run(project, SUNDAY)
    assert "cohortops state unlock" in str(caught.value)
    assert history(project) == [] and project.recorded() == {}
    assert run(project, SUNDAY)[0] == 0  # once released, the due run goes ahead
    assert history(project)[-1].result == "success"


def test_recovery_notifies_once_the_first_run_after_a_failure(
    project: Project, smtp_server: SmtpServer
) -> None:
    notify = {"email": ["growth@example.com"], "on": ["recovery"]}
    project.write(
        {"flaky": CohortSpec("attribute", ids("u", 0, 10), {"schedule": DAILY, "notify": notify})}
    )
    source = project.configs / "data" / "flaky.csv"
    kept = source.read_text()
    source.unlink()
    assert run(project, SUNDAY)[0] == 1  # failed: "recovery" alone sends nothing
    assert smtp_server.messages == []
    source.write_text(kept)
    code, lines = run(project, SUNDAY + dt.timedelta(days=1))
    assert code == 0, lines
    [mail] = smtp_server.messages  # the first success after the failure
    assert mail.message["Subject"].startswith("[cohortops] flaky")
    assert run(project, SUNDAY + dt.timedelta(days=2))[0] == 0
    assert len(smtp_server.messages) == 1  # a second success is no recovery


def test_a_manual_apply_notifies_like_a_scheduled_run(
    project: Project, smtp_server: SmtpServer
) -> None:
    notify = {"email": ["growth@example.com"], "on": ["changes"]}
    project.write({"hand": CohortSpec("attribute", ids("u", 0, 10), {"notify": notify})})
    lines = project.apply()
    assert any(line.startswith("  hand: notified by email") for line in lines), lines
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "[cohortops] hand: +10 / -0 members"


def test_run_reports_as_json_with_documented_keys(project: Project) -> None:
    import json

    from cohortops.notify import RunReport
    from cohortops.operations.scheduled_runs import reports_json

    project.write({"daily": CohortSpec("attribute", ids("u", 0, 5), {"schedule": DAILY})})
    got: list[list[RunReport]] = []
    code = run_due(
        project.app(),
        now=SUNDAY,
        echo=lambda _line: None,
        progress=Progress(enabled=False),
        client_options=dict(FAST_CLIENT),
        on_reports=got.append,
    )
    assert code == 0
    [row] = json.loads(reports_json(got[0]))
    assert set(row) == {
        "cohort_id", "trigger", "result", "started_at", "ended_at", "added", "removed",
        "failed", "total_members", "error", "apply_id", "recovered",
    }  # fmt: skip
    assert (row["cohort_id"], row["result"], row["added"]) == ("daily", "success", 5)
