"""A saved plan's member files: streamed both ways, read into spilled sets, private once read."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.membership.spilled import ROW_GROUP, RowGroups, SpilledIds
from cohortops.plan import member_file, render
from cohortops.plan.planfile import plan_digest, read_plan, write_plan
from cohortops.plan.summary import summarize

from .test_render_json import _busy_plan

MANY = pa.array([f"user_{i:07d}" for i in range(2 * ROW_GROUP + 10)], pa.string())


def _big_plan() -> Any:
    """The busy plan with one cohort adding over two row groups of members."""
    plan = _busy_plan()
    cohorts = tuple(
        dataclasses.replace(c, to_add=MANY) if c.cohort_id == "k" else c for c in plan.cohorts
    )
    return dataclasses.replace(plan, cohorts=cohorts, summary=summarize(cohorts))


def _members_of(path: Path, cohort: str) -> tuple[str, bytes]:
    plan = read_plan(path, key=None)
    index = [c.cohort_id for c in plan.cohorts].index(cohort)
    name = f"members/{index:05d}.parquet"
    with zipfile.ZipFile(path) as zf:
        return name, zf.read(name)


@pytest.mark.parametrize("spill_bytes", [member_file.SPILL_BYTES, 0])
def test_read_back_as_spilled_sets_with_the_same_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spill_bytes: int
) -> None:
    monkeypatch.setattr(member_file, "SPILL_BYTES", spill_bytes)
    plan, path = _big_plan(), tmp_path / "p.plan"
    write_plan(plan, path, key=None)
    back = read_plan(path, key=None)
    k = back.cohort("k")
    assert isinstance(k.to_add, SpilledIds) and k.to_add == MANY
    assert back == plan and plan_digest(back) == plan_digest(plan)
    churn = back.cohort("churn")
    assert churn.to_add == plan.cohort("churn").to_add
    assert churn.to_remove == plan.cohort("churn").to_remove


def test_rendering_a_saved_plan_decodes_only_the_sampled_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.plan"
    write_plan(_big_plan(), path, key=None)
    back = read_plan(path, key=None)  # the digest check reads every row group
    decoded: list[tuple[int, int]] = []
    group = RowGroups.group

    def counted(self: RowGroups, index: int) -> pa.Array:
        decoded.append((self.rows, index))
        return group(self, index)

    monkeypatch.setattr(RowGroups, "group", counted)
    for fmt in ("text", "markdown", "json"):
        assert render(back, fmt)
    # k's adds span three row groups: its samples come from the first alone.
    assert {index for rows, index in decoded if rows == len(MANY)} == {0}


def test_a_spilled_plan_is_a_private_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once read (and verified), editing the plan file cannot change what apply sends."""
    monkeypatch.setattr(member_file, "SPILL_BYTES", 0)
    path = tmp_path / "p.plan"
    write_plan(_big_plan(), path, key=None)
    back = read_plan(path, key=None)
    # Overwritten in place, not replaced: a reader still holding the original file would see it.
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
    assert back.cohort("k").to_add == MANY


def test_a_member_file_with_interleaved_flags_still_reads(tmp_path: Path) -> None:
    """The writer puts adds first; a file that interleaves them (keeping each side's order, so
    the digest holds) is read through the filtering path."""
    path = tmp_path / "p.plan"
    plan = _busy_plan()
    write_plan(plan, path, key=None)
    name, raw = _members_of(path, "churn")
    table = pq.read_table(io.BytesIO(raw))
    flags = table.column("remove").to_pylist()
    adds = [i for i, f in enumerate(flags) if not f]
    removes = [i for i, f in enumerate(flags) if f]
    order = [i for pair in zip(adds, removes, strict=False) for i in pair]
    order += adds[len(removes) :]
    sink = io.BytesIO()
    pq.write_table(table.take(pa.array(order)), sink)
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    items[name] = sink.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in items.items():
            zf.writestr(n, data)
    back = read_plan(path, key=None)
    assert back.cohort("churn").to_add == plan.cohort("churn").to_add
    assert back.cohort("churn").to_remove == plan.cohort("churn").to_remove
