"""One error hierarchy for the whole tool.

Every error carries the exit code the CLI uses and a message that says what to do next.
The CLI prints ``str(error)`` on one line and never a traceback for these.
"""

from __future__ import annotations


class CohortopsError(Exception):
    """Base of every error cohortops raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class ConfigError(CohortopsError):
    """Configuration files are missing, malformed or inconsistent.

    ``diagnostics`` holds every located problem found in one run, already sorted.
    """

    def __init__(self, message: str, diagnostics: tuple[str, ...] = ()) -> None:
        self.diagnostics = diagnostics
        super().__init__(message)

    def __str__(self) -> str:
        if self.diagnostics:
            return "\n".join(self.diagnostics)
        return self.message


class SecretError(CohortopsError):
    """A ``${env:NAME}`` reference could not be resolved."""


class SourceError(CohortopsError):
    """A cohort's source (file or SQL) could not be read."""


class StateError(CohortopsError):
    """The state store is unreadable, inconsistent or unreachable."""


class LockBusyError(StateError):
    """Another process holds the state lock."""


class StalePlanError(CohortopsError):
    """A saved plan no longer matches the state it was made against."""


class PlanError(CohortopsError):
    """A plan could not be made, read or rendered."""


class GuardBlockedError(CohortopsError):
    """Apply refused because a blocking guard was not overridden."""


class BrazeError(CohortopsError):
    """Braze (or the sandbox) refused or failed a request."""


class LyticsError(BrazeError):
    """Lytics (or the sandbox's Lytics API) refused or failed a request.

    A subclass of :class:`BrazeError` because the applier treats every destination's request
    failures alike; ``aborts_run`` says whether every later request would fail the same way.
    """

    aborts_run: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        aborts_run: bool = False,
    ) -> None:
        self.status = status
        self.aborts_run = aborts_run
        super().__init__(message, hint=hint)


class ApplyError(CohortopsError):
    """Apply could not finish; what was acknowledged is recorded."""


class AuditError(CohortopsError):
    """The audit log is broken or could not be written."""


class Interrupted(CohortopsError):
    """The user pressed Ctrl-C; in-flight work was recorded."""

    exit_code = 130
