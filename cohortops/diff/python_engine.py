"""The reference diff engine: plain Python sets, obviously correct, used as the tests' oracle.

It holds both member sets as Python strings (~70 bytes per id), so it suits small cohorts and
tests; the DuckDB engine is the one for millions of members.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from cohortops.config.model import Source
from cohortops.diff.memberdiff import MemberDiff
from cohortops.errors import StateError
from cohortops.sources.desired import read_source_arrow
from cohortops.state.snapshot import RecordedMembers


def _strings(values: pa.Array | pa.ChunkedArray | Sequence[str]) -> Iterable[str]:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return [v for v in values.to_pylist() if v is not None]
    return [v for v in values if v is not None]


def recorded_set(recorded: RecordedMembers) -> set[str]:
    """``snapshot ∪ delta_added − delta_removed``."""
    members: set[str] = set()
    if recorded.snapshot is not None:
        try:
            members.update(_strings(pq.read_table(recorded.snapshot, columns=["id"]).column("id")))
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise StateError(
                f"Recorded members of cohort {recorded.cohort_id} are unreadable "
                f"({recorded.snapshot}): {exc}.",
                hint="Restore the state directory or run `cohortops state forget` for the cohort.",
            ) from exc
    members.update(_strings(recorded.delta_added))
    members.difference_update(_strings(recorded.delta_removed))
    return members


class PythonDiffEngine:
    def diff(self, cohort_id: str, source: Source, recorded: RecordedMembers) -> MemberDiff:
        desired = read_source_arrow(source, cohort_id)
        wanted = set(desired.ids.to_pylist())
        have = recorded_set(recorded)
        return MemberDiff(
            cohort_id=cohort_id,
            to_add=pa.array(sorted(wanted - have), pa.string()),
            to_remove=pa.array(sorted(have - wanted), pa.string()),
            desired_count=len(wanted),
            recorded_count=len(have),
            issues=desired.issues,
            skipped=dict(sorted(desired.skipped.items())),
            duplicates=desired.duplicates,
        )

    def close(self) -> None:
        return None
