"""What a notification tells: one cohort's run, its events, subject, body and fields."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from cohortops.errors import CohortopsError

RunResult = Literal["success", "failed", "partial", "no-changes", "blocked"]
Channel = Literal["email", "webhook"]

TIMEOUT = 10.0  # seconds, per SMTP session and per webhook request
FAILURES: frozenset[str] = frozenset({"failed", "partial", "blocked"})
TIME = "%Y-%m-%d %H:%M:%S UTC"


@dataclass(frozen=True)
class RunReport:
    """What one cohort's run did, as the notifications tell it."""

    cohort_id: str
    cohort_name: str
    trigger: str
    result: RunResult
    started_at: dt.datetime
    ended_at: dt.datetime
    added: int = 0
    removed: int = 0
    failed: int = 0
    total_members: int = 0
    error: str | None = None
    apply_id: str | None = None
    recovered: bool = False  # the cohort's previous run had failed and this one did not

    @property
    def is_failure(self) -> bool:
        return self.result in FAILURES

    @property
    def has_changes(self) -> bool:
        return self.added > 0 or self.removed > 0

    def events(self) -> frozenset[str]:
        """The ``notify.on`` events this run raises."""
        found = {"failure"} if self.is_failure else {"success"}
        if self.recovered and not self.is_failure:
            found.add("recovery")
        if self.has_changes:
            found.add("changes")
        return frozenset(found)

    @property
    def title(self) -> str:
        return (
            self.cohort_name
            if self.cohort_name == self.cohort_id
            else (f"{self.cohort_name} ({self.cohort_id})")
        )

    def subject(self) -> str:
        counts = f"+{self.added:,} / -{self.removed:,}"
        text = {
            "success": f"{self.title}: {counts} members",
            "no-changes": f"{self.title}: no changes",
            "partial": f"PARTIAL: {self.title}: {counts}, {self.failed:,} failed",
            "failed": f"FAILED: {self.title}",
            "blocked": f"BLOCKED: {self.title} was not applied",
        }[self.result]
        return f"[cohortops] {text}"

    def body(self) -> str:
        seconds = (self.ended_at - self.started_at).total_seconds()
        lines = [
            f"Cohort: {self.title}",
            f"Result: {self.result}",
            f"Trigger: {self.trigger}",
            f"Started: {_utc(self.started_at)}",
            f"Ended: {_utc(self.ended_at)} ({seconds:.1f} s)",
            f"Added: {self.added:,}",
            f"Removed: {self.removed:,}",
            f"Failed: {self.failed:,}",
            f"Members now: {self.total_members:,}",
        ]
        if self.apply_id:
            lines.append(f"Apply: {self.apply_id}")
        if self.error:
            lines.append(f"Error: {self.error}")
        return "\n".join(lines) + "\n"

    def fields(self) -> dict[str, Any]:
        return {
            "cohort_id": self.cohort_id,
            "cohort_name": self.cohort_name,
            "trigger": self.trigger,
            "result": self.result,
            "added": self.added,
            "removed": self.removed,
            "failed": self.failed,
            "total_members": self.total_members,
            "started_at": self.started_at.astimezone(dt.UTC).isoformat(),
            "ended_at": self.ended_at.astimezone(dt.UTC).isoformat(),
            "error": self.error,
            "apply_id": self.apply_id,
        }


@dataclass(frozen=True)
class Delivery:
    """The outcome of one channel; ``detail`` is safe to print (no secret in it)."""

    channel: Channel
    ok: bool
    detail: str

    def line(self, cohort_id: str) -> str:
        if self.ok:
            return f"  {cohort_id}: notified by {self.channel} ({self.detail})"
        return f"  warning: {cohort_id}: {self.channel} notification failed: {self.detail}"


class NotifyError(CohortopsError):
    """A notification could not be sent (reported as a warning, never fails a run)."""


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime(TIME)


def retried(attempts: int) -> str:
    """The suffix that says how often a channel was retried before it gave up."""
    if attempts <= 1:
        return ""
    return " (after one retry)" if attempts == 2 else f" (after {attempts - 1} retries)"
