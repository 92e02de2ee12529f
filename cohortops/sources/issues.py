"""A source row that hygiene dropped, as the diff engines and the plan report it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceIssue:
    """A row the source hygiene dropped: where it was and why (never sent to Braze)."""

    where: str  # "configs/data/churn.csv:17" or "sql row 17"
    message: str  # "empty identifier", "identifier longer than 255 characters", ...
