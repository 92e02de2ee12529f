from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from cohortops.errors import PlanError
from cohortops.plan.planfile import plan_digest, read_plan, write_plan

from .test_render_json import _busy_plan


@pytest.fixture
def plan() -> Any:
    return _busy_plan()


def test_round_trip_keeps_every_field_and_member(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "plan.cohortops"
    write_plan(plan, path)
    back = read_plan(path)
    assert back == plan
    for a, b in zip(plan.cohorts, back.cohorts, strict=True):
        assert a.to_add.to_pylist() == b.to_add.to_pylist()
        assert a.to_remove.to_pylist() == b.to_remove.to_pylist()
        assert b.to_add.type == pa.string()
    assert plan_digest(back) == plan_digest(plan)
    assert back.summary == plan.summary
    assert back.blocked_cohorts() == plan.blocked_cohorts()
    assert [p.name for p in tmp_path.iterdir()] == ["plan.cohortops"]  # no temp file left


def test_file_is_a_zip_with_zstd_parquet_members(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    write_plan(plan, path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = orjson.loads(zf.read("manifest.json"))
        data = orjson.loads(zf.read("plan.json"))
    assert manifest == {"kind": "cohortops-plan", "format_version": 1, "digest": plan_digest(plan)}
    assert data["config_digest"] == plan.config_digest
    assert data["state"] == {"lineage": "lineage-1", "serial": 7, "where": "", "exists": True}
    assert sum(n.endswith(".parquet") for n in names) == sum(
        1 for c in plan.cohorts if c.adds or c.removes
    )
    assert "KUBIT_PARTNER_KEY" not in path.read_bytes().decode("latin-1")


def test_digest_is_stable_and_sensitive(plan: Any) -> None:
    assert plan_digest(dataclasses.replace(plan)) == plan_digest(plan)
    index = next(i for i, c in enumerate(plan.cohorts) if c.removes > 2)
    cp = plan.cohorts[index]

    def with_removes(ids: Any) -> Any:
        cohorts = list(plan.cohorts)
        cohorts[index] = dataclasses.replace(cp, to_remove=ids)
        return dataclasses.replace(plan, cohorts=tuple(cohorts))

    chunked = pa.chunked_array([cp.to_remove.slice(0, 1), cp.to_remove.slice(1)])
    sliced = pa.array(["pad", *cp.to_remove.to_pylist()]).slice(1)
    for same in (chunked, chunked.cast(pa.large_string()), sliced, cp.to_remove.to_pylist()):
        assert plan_digest(with_removes(same)) == plan_digest(plan)
    changed = pa.array(["other", *cp.to_remove.to_pylist()[1:]])
    assert plan_digest(with_removes(changed)) != plan_digest(plan)
    # Length prefixes keep ["ab", "c"] and ["a", "bc"] apart.
    assert plan_digest(with_removes(pa.array(["ab", "c"]))) != plan_digest(
        with_removes(pa.array(["a", "bc"]))
    )


def test_overwrite_replaces_the_old_plan(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "plan.zip"
    path.write_bytes(b"old")
    write_plan(plan, path)
    assert read_plan(path) == plan


def _rewrite(path: Path, change: dict[str, bytes | None]) -> None:
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    for name, value in change.items():
        if value is None:
            entries.pop(name)
        else:
            entries[name] = value
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, value in entries.items():
            zf.writestr(name, value)
    path.write_bytes(buf.getvalue())


def _one_line_error(path: Path, match: str) -> None:
    with pytest.raises(PlanError, match=match) as info:
        read_plan(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    _one_line_error(tmp_path / "nope.zip", "does not exist")


def test_random_bytes_are_not_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_bytes(b"\x00garbage" * 100)
    _one_line_error(path, "corrupt")


def test_truncated_file(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    write_plan(plan, path)
    path.write_bytes(path.read_bytes()[:-200])
    _one_line_error(path, "corrupt")


def test_foreign_zip(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    _one_line_error(path, "is not a cohortops plan file")


def test_future_version(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    write_plan(plan, path)
    manifest = {"kind": "cohortops-plan", "format_version": 2, "digest": "x"}
    _rewrite(path, {"manifest.json": orjson.dumps(manifest)})
    _one_line_error(path, "plan format 2, newer than this cohortops understands")


def test_tampered_members_fail_the_digest(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    write_plan(plan, path)
    with zipfile.ZipFile(path) as zf:
        first = next(n for n in zf.namelist() if n.endswith(".parquet"))
        other = next(n for n in zf.namelist() if n.endswith(".parquet") and n != first)
        swapped = zf.read(other)
    _rewrite(path, {first: swapped})
    _one_line_error(path, "corrupt")


def test_tampered_plan_json_fails_the_digest(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    write_plan(plan, path)
    with zipfile.ZipFile(path) as zf:
        data = orjson.loads(zf.read("plan.json"))
    blocked = next(c for c in data["cohorts"] if c["blocked_by"])
    blocked["blocked_by"] = []  # the kind of edit that would sneak a blocked cohort through
    _rewrite(path, {"plan.json": orjson.dumps(data)})
    _one_line_error(path, "digest does not match")


def test_malformed_plan_json(plan: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    write_plan(plan, path)
    _rewrite(path, {"plan.json": b'{"format_version": 1, "cohorts": "nope"}'})
    _one_line_error(path, "corrupt")
    _rewrite(path, {"plan.json": None})
    _one_line_error(path, "corrupt")


@pytest.mark.parametrize(
    ("field", "value"),
    [("action", "explode"), ("method", "email"), ("identifier", "email")],
)
def test_unknown_choices_are_corrupt(plan: Any, tmp_path: Path, field: str, value: str) -> None:
    path = tmp_path / "p.zip"
    write_plan(plan, path)
    with zipfile.ZipFile(path) as zf:
        data = orjson.loads(zf.read("plan.json"))
    data["cohorts"][0][field] = value
    _rewrite(path, {"plan.json": orjson.dumps(data)})
    _one_line_error(path, f"corrupt \\(unknown value '{value}'\\)")
