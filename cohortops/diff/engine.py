"""The diff engine interface: desired identifiers of a source vs a cohort's recorded members.

Two local engines implement it: ``duckdb`` (the default; one memory-limited full outer join,
scales to tens of millions of members) and ``python`` (plain sets; the reference the tests
compare to). The warehouse engine wraps either and runs ``diff: warehouse`` sources in their
own database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from cohortops.config.model import Source
from cohortops.diff.memberdiff import MemberDiff
from cohortops.errors import PlanError
from cohortops.state.snapshot import RecordedMembers

EngineName = Literal["duckdb", "python"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "python")


@runtime_checkable
class DiffEngine(Protocol):
    def diff(self, cohort_id: str, source: Source, recorded: RecordedMembers) -> MemberDiff:
        """Read ``source``, clean its identifiers and diff them against ``recorded``.

        Raises :class:`~cohortops.errors.SourceError` when the source cannot be read.
        """
        ...

    def close(self) -> None:
        """Release the engine's resources (DuckDB connection, spill directory)."""
        ...


def make_engine(
    name: EngineName | str = "duckdb",
    *,
    memory_limit: str = "256MB",
    temp_dir: Path | None = None,
    threads: int | None = None,
) -> DiffEngine:
    """An engine by name (an unknown one raises ``PlanError``).
    ``memory_limit``, ``temp_dir`` and ``threads`` apply to DuckDB only.

    Either engine hands ``sql:`` sources with ``diff: warehouse`` to the warehouse engine.
    """
    from cohortops.diff.warehouse_engine import WarehouseDiffEngine

    if name == "duckdb":
        from cohortops.diff.duckdb_engine import DuckDBDiffEngine

        return WarehouseDiffEngine(
            lambda: DuckDBDiffEngine(memory_limit=memory_limit, temp_dir=temp_dir, threads=threads)
        )
    if name == "python":
        from cohortops.diff.python_engine import PythonDiffEngine

        return WarehouseDiffEngine(PythonDiffEngine())
    raise PlanError(f"Unknown diff engine {name!r}.", hint=f"Use one of: {', '.join(ENGINES)}.")
