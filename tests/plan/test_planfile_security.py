"""Plan files against a hostile editor: HMAC signing with COHORTOPS_PLAN_KEY, zip bombs."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.errors import PlanError
from cohortops.plan.planfile import read_plan, read_plan_checked, write_plan

from .test_render_json import _busy_plan

KEY = b"plan-key-from-a-ci-secret"


def _manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        data: dict[str, Any] = orjson.loads(zf.read("manifest.json"))
        return data


def _rewrite(path: Path, replace: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    items.update(replace)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in items.items():
            zf.writestr(name, data)


def _edited(plan: Any) -> Any:
    """The edit an attacker wants: a blocked cohort let through."""
    cohorts = [dataclasses.replace(c, blocked_by=()) if c.blocked_by else c for c in plan.cohorts]
    assert cohorts != list(plan.cohorts)
    return dataclasses.replace(plan, cohorts=tuple(cohorts))


def test_a_re_signed_plan_is_refused_when_a_key_is_set(tmp_path: Path) -> None:
    plan = _busy_plan()
    good, evil = tmp_path / "good.zip", tmp_path / "evil.zip"
    assert write_plan(plan, good, key=KEY)
    assert read_plan(good, key=KEY) is not None
    # The attack: edit the plan and recompute the digest (as write_plan does without a key) ...
    assert not write_plan(_edited(plan), evil, key=None)
    with pytest.raises(PlanError, match="unsigned"):
        read_plan(evil, key=KEY)
    # ... and keep the original signature in the new manifest.
    manifest = _manifest(evil)
    manifest["signature"] = _manifest(good)["signature"]
    _rewrite(evil, {"manifest.json": orjson.dumps(manifest)})
    with pytest.raises(PlanError, match="not signed with this COHORTOPS_PLAN_KEY") as caught:
        read_plan(evil, key=KEY)
    assert "\n" not in str(caught.value)
    with pytest.raises(PlanError, match="not signed with this"):
        read_plan(good, key=b"another key")


def test_the_key_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.zip"
    monkeypatch.delenv("COHORTOPS_PLAN_KEY", raising=False)
    assert not write_plan(_busy_plan(), path)
    assert "UNSIGNED" in read_plan_checked(path)[1]
    monkeypatch.setenv("COHORTOPS_PLAN_KEY", KEY.decode())
    with pytest.raises(PlanError, match="unsigned"):
        read_plan(path)
    assert write_plan(_busy_plan(), path)
    assert "verified" in read_plan_checked(path)[1]
    monkeypatch.delenv("COHORTOPS_PLAN_KEY")
    assert "NOT verified" in read_plan_checked(path)[1]


def test_a_deflate_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    write_plan(_busy_plan(), path, key=None)
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist() if n != "plan.json"}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in items.items():
            zf.writestr(name, data)
        with zf.open("plan.json", "w", force_zip64=True) as handle:
            block = b" " * (1 << 20)
            for _ in range(257):
                handle.write(block)
    assert path.stat().st_size < 2 << 20
    with pytest.raises(PlanError, match=r"plan\.json decompresses to") as caught:
        read_plan(path, key=None)
    assert "\n" not in str(caught.value)


def _plan_with_repeated_member(tmp_path: Path, rows: int, **write: int) -> tuple[Path, int]:
    """A saved plan whose first member file is ``rows`` copies of one id; its stored size."""
    path = tmp_path / "p.zip"
    write_plan(_busy_plan(), path, key=None)
    table = pa.table({"id": pa.repeat("x", rows), "remove": pa.repeat(False, rows)})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", **write)
    with zipfile.ZipFile(path) as zf:
        first = next(n for n in zf.namelist() if n.endswith(".parquet"))
    _rewrite(path, {first: sink.getvalue()})
    return path, len(sink.getvalue())


def test_a_parquet_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path, stored = _plan_with_repeated_member(tmp_path, 5_000_000)
    assert stored < 1 << 20
    with pytest.raises(PlanError, match="compression bomb"):
        read_plan(path, key=None)


def test_one_row_group_that_decodes_too_large_is_refused(tmp_path: Path) -> None:
    # Under the whole-file bound (~48 MB decoded against 1,024x the stored size) but one row
    # group over MAX_GROUP_BYTES at far more than MAX_PARQUET_RATIO: the per-group check refuses.
    rows = 3_000_000
    path, stored = _plan_with_repeated_member(tmp_path, rows, row_group_size=rows)
    assert stored < 64 << 10
    with pytest.raises(PlanError, match="compression bomb"):
        read_plan(path, key=None)
