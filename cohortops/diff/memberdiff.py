"""The member-level difference of one cohort, as the diff engines produce it.

Member lists are pyarrow string arrays, sorted: 10M ids as Python ``str`` objects cost ~700 MB,
as an Arrow array ~180 MB, and the planner only needs counts and samples of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cohortops.membership import IdArray
from cohortops.sources.issues import SourceIssue


@dataclass(frozen=True)
class MemberDiff:
    cohort_id: str
    to_add: IdArray  # sorted ascending
    to_remove: IdArray  # sorted ascending
    desired_count: int
    recorded_count: int
    issues: tuple[SourceIssue, ...] = ()  # the first ones found, bounded (e.g. 100)
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> rows skipped
    duplicates: int = 0  # rows that repeated an id already seen

    @property
    def adds(self) -> int:
        return len(self.to_add)

    @property
    def removes(self) -> int:
        return len(self.to_remove)
