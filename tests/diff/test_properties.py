"""Property tests: the DuckDB engine agrees with the Python reference engine on random inputs.

Desired ids are written as CSV, JSONL or Parquet with whitespace, empties, duplicates, ids over
the length limit, control characters and unicode; the recorded set is a Parquet snapshot plus
deltas that overlap it. Every field of the two MemberDiffs must match.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortops.config.model import FileSource
from cohortops.diff.engine import DiffEngine, make_engine
from cohortops.diff.memberdiff import MemberDiff
from cohortops.state.snapshot import RecordedMembers

POOL = [f"user_{i:04d}" for i in range(40)] + ["00123", "123", "Ünïcødé", "ユーザー", "a b"]
SPACES = [" ", "\t", "\u3000", "\xa0", "\ufeff", "\u2028", "\r\n", "\n"]
SETTINGS = settings(
    max_examples=int(os.environ.get("COHORTOPS_DIFF_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

pool_id = st.sampled_from(POOL)
padded = st.tuples(st.sampled_from(["", *SPACES]), pool_id, st.sampled_from(["", *SPACES])).map(
    lambda t: t[0] + t[1] + t[2]
)
blank = st.lists(st.sampled_from(SPACES), max_size=3).map("".join)
too_long = st.integers(min_value=256, max_value=300).map(lambda n: "x" * n)
at_limit = st.just("y" * 255)
controlled = st.tuples(pool_id, st.sampled_from(["\x01", "\x7f", "\x85", "\n", "\r", "\u2029"]))
with_control = controlled.map(lambda t: t[0][:3] + t[1] + t[0][3:])
text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=12,
)
raw_value = st.one_of(pool_id, pool_id, padded, blank, too_long, at_limit, with_control, text)


@st.composite
def recorded_sets(draw: st.DrawFn) -> tuple[list[str] | None, list[str], list[str]]:
    snapshot = draw(st.none() | st.lists(pool_id, unique=True, max_size=30))
    base = set(snapshot or [])
    added = draw(st.lists(pool_id, unique=True, max_size=6))  # may overlap the snapshot
    removed_pool = [p for p in POOL if p not in added]
    removed = draw(st.lists(st.sampled_from(removed_pool), unique=True, max_size=6))
    del base
    return snapshot, added, removed


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[DiffEngine, DiffEngine]]:
    duck = make_engine("duckdb", memory_limit="128MB", threads=2)
    python = make_engine("python")
    yield duck, python
    duck.close()
    python.close()


def recorded_members(
    folder: Path, snapshot: list[str] | None, added: list[str], removed: list[str]
) -> RecordedMembers:
    path = None
    if snapshot is not None:
        path = folder / "snapshot.parquet"
        table = pa.table({"id": pa.array(sorted(snapshot), pa.string())})
        pq.write_table(table, path, compression="zstd")
    return RecordedMembers(
        cohort_id="c",
        snapshot=path,
        delta_added=pa.array(added, pa.string()),
        delta_removed=removed,  # plain sequences are accepted too
        count=len((set(snapshot or []) | set(added)) - set(removed)),
    )


def as_tuple(diff: MemberDiff) -> tuple[Any, ...]:
    return (
        diff.to_add.to_pylist(),
        diff.to_remove.to_pylist(),
        diff.desired_count,
        diff.recorded_count,
        dict(diff.skipped),
        diff.duplicates,
        diff.issues,
    )


def assert_agree(
    engines: tuple[DiffEngine, DiffEngine], source: FileSource, recorded: RecordedMembers
) -> MemberDiff:
    duck, python = engines
    expected = python.diff("c", source, recorded)
    got = duck.diff("c", source, recorded)
    assert as_tuple(got) == as_tuple(expected)
    assert got.to_add.type == pa.string() and got.to_remove.type == pa.string()
    return got


@SETTINGS
@given(
    values=st.lists(raw_value, max_size=60),
    recorded=recorded_sets(),
    layout=st.sampled_from(["single", "second", "headerless"]),
    delimiter=st.sampled_from([",", "\t", ";"]),
    terminator=st.sampled_from(["\r\n", "\n"]),
)
def test_csv_engines_agree(
    engines: tuple[DiffEngine, DiffEngine],
    values: list[str],
    recorded: tuple[list[str] | None, list[str], list[str]],
    layout: str,
    delimiter: str,
    terminator: str,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "desired.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter, lineterminator=terminator)
            if layout == "single":
                writer.writerow(["user_id"])
                writer.writerows([v] for v in values)
            elif layout == "second":
                writer.writerow(["note", "user_id", "extra"])
                writer.writerows(
                    [f"n{i}\nx" if i % 7 == 3 else "", v, "e"] for i, v in enumerate(values)
                )
            else:
                writer.writerows([v] for v in values)
        source = FileSource(
            path=path,
            format="csv",
            column=None if layout != "second" else "user_id",
            delimiter=delimiter,
            header=layout != "headerless",
        )
        assert_agree(engines, source, recorded_members(folder, *recorded))


json_value = st.one_of(
    raw_value,
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=2**64, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.just([1]),
)
json_line = st.one_of(
    json_value.map(lambda v: {"id": v, "other": 1}),
    st.just({"other": 1}),
    st.just("{not json"),
    st.just("[1, 2]"),
    st.just('"just a string"'),
    st.just(""),
    st.just("   "),
)


@SETTINGS
@given(
    lines=st.lists(json_line, max_size=50),
    recorded=recorded_sets(),
    first_key=st.booleans(),
    ascii_only=st.booleans(),
)
def test_jsonl_engines_agree(
    engines: tuple[DiffEngine, DiffEngine],
    lines: list[Any],
    recorded: tuple[list[str] | None, list[str], list[str]],
    first_key: bool,
    ascii_only: bool,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "desired.jsonl"
        rendered = [
            line if isinstance(line, str) else json.dumps(line, ensure_ascii=ascii_only)
            for line in lines
        ]
        path.write_text("".join(r + "\n" for r in rendered), encoding="utf-8")
        source = FileSource(path=path, format="jsonl", column=None if first_key else "id")
        assert_agree(engines, source, recorded_members(folder, *recorded))


@SETTINGS
@given(
    values=st.lists(st.none() | raw_value, max_size=60),
    numbers=st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), max_size=20),
    recorded=recorded_sets(),
    as_integers=st.booleans(),
)
def test_parquet_engines_agree(
    engines: tuple[DiffEngine, DiffEngine],
    values: list[str | None],
    numbers: list[int | None],
    recorded: tuple[list[str] | None, list[str], list[str]],
    as_integers: bool,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "desired.parquet"
        column = pa.array(numbers, pa.int64()) if as_integers else pa.array(values, pa.string())
        pq.write_table(pa.table({"before": pa.nulls(len(column)), "uid": column}), path)
        source = FileSource(path=path, format="parquet", column="uid")
        assert_agree(engines, source, recorded_members(folder, *recorded))
