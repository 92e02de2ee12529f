"""What a run report says: subjects, bodies, events."""

from __future__ import annotations

import pytest

from .conftest import (
    report,
)


def test_subjects_and_body() -> None:
    assert report().subject() == "[cohortops] Power users (power-users): +120 / -4 members"
    assert report("no-changes", added=0, removed=0).subject().endswith(": no changes")
    partial = report("partial", failed=3)
    assert (
        partial.subject() == "[cohortops] PARTIAL: Power users (power-users): +120 / -4, 3 failed"
    )
    blocked = report("blocked", added=0, removed=0, error="Blocked by guard: too many leave")
    assert blocked.subject() == "[cohortops] BLOCKED: Power users (power-users) was not applied"
    assert report("failed").subject() == "[cohortops] FAILED: Power users (power-users)"
    same = report(cohort_name="power-users")
    assert same.subject() == "[cohortops] power-users: +120 / -4 members"
    body = blocked.body()
    for line in (
        "Cohort: Power users (power-users)",
        "Result: blocked",
        "Trigger: schedule",
        "Started: 2024-03-10 05:00:00 UTC",
        "Ended: 2024-03-10 05:00:04 UTC (4.5 s)",
        "Members now: 1,234",
        "Apply: abc123",
        "Error: Blocked by guard: too many leave",
    ):
        assert line in body.splitlines(), body


@pytest.mark.parametrize(
    ("result", "changes", "events"),
    [
        ("success", {}, {"success", "changes"}),
        ("no-changes", {"added": 0, "removed": 0}, {"success"}),
        ("success", {"added": 0, "removed": 1}, {"success", "changes"}),
        ("partial", {}, {"failure", "changes"}),
        ("failed", {"added": 0, "removed": 0}, {"failure"}),
        ("blocked", {"added": 0, "removed": 0}, {"failure"}),
    ],
)
def test_events(result: str, changes: dict[str, int], events: set[str]) -> None:
    assert report(result, **changes).events() == events


def test_recovery_is_an_event_only_when_the_run_did_not_fail() -> None:
    from notify.conftest import report

    assert "recovery" in report("success", recovered=True).events()
    assert "recovery" not in report("success").events()
    assert "recovery" not in report("failed", recovered=True).events()
