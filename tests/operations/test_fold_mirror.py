"""Replaying an apply's audit entries into the changes a mirror fold applies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from cohortops.config.model import Secret, SqlSource
from cohortops.operations.fold_mirror import Before, replay
from cohortops.state.logs import AuditEntry

SOURCE = SqlSource(url=Secret("duckdb:///w.db"), query="SELECT 1", diff="warehouse")


def entry(kind: str, **data: Any) -> AuditEntry:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return AuditEntry(1, at, kind, "me", "c", data, "", "")


def before(added: list[str], removed: list[str]) -> Before:
    ids = [pa.array(added, pa.string()), pa.array(removed, pa.string())]
    return Before("c", SOURCE, "c-1.parquet", ids[0], ids[1], 0)


def test_the_last_change_of_an_id_wins() -> None:
    entries = [
        entry("batch", op="add", members=["a", "b", "r1"]),
        entry("cohort.rename", name="x"),
        entry("batch", op="remove", members=["b", "p1"]),
    ]
    added, removed = replay(before(["p1", "p2"], ["r1", "r2"]), entries)  # type: ignore[misc]
    assert sorted(added) == ["a", "p2", "r1"]
    assert sorted(removed) == ["b", "p1", "r2"]
    # distinct and disjoint: the fold sends each id once and inserts without DISTINCT
    assert len({*added, *removed}) == len(added) + len(removed)


def test_a_change_the_batches_do_not_describe_gives_up() -> None:
    assert replay(before([], []), [entry("cohort.destroy", removed=3)]) is None
    assert replay(before([], []), [entry("batch", op="replace", members=["a"])]) is None
