"""DuckDB engine specifics: positions under parallel reads, CSV quirks, configuration."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.config.model import FileSource
from cohortops.diff.duckdb_engine import DuckDBDiffEngine
from cohortops.diff.duckdb_join_sql import JoinKey, packable, packed, unpacked
from cohortops.diff.engine import make_engine
from cohortops.diff.memberdiff import MemberDiff
from cohortops.diff.warehouse_engine import WarehouseDiffEngine
from cohortops.errors import PlanError, SourceError
from cohortops.sources.issues import SourceIssue
from cohortops.state.snapshot import RecordedMembers

NOTHING = RecordedMembers("c", None, [], [], 0)
BAD_EVERY = 9_973  # a prime, so bad rows land at irregular offsets inside DuckDB's chunks


def lines_of(issues: tuple[SourceIssue, ...]) -> list[int]:
    return [int(i.where.rsplit(":", 1)[1]) for i in issues]


def test_positions_stay_exact_with_parallel_reads(tmp_path: Path) -> None:
    rows = 120_000
    csv_path, jsonl_path = tmp_path / "d.csv", tmp_path / "d.jsonl"
    bad = {i for i in range(rows) if i % BAD_EVERY == 5}
    ids = ["" if i in bad else f"user_{i:09d}" for i in range(rows)]
    csv_path.write_text("user_id\n" + "".join(f'"{v}"\n' for v in ids), encoding="utf-8")
    jsonl_path.write_text("".join(json.dumps({"id": v}) + "\n" for v in ids), encoding="utf-8")
    with DuckDBDiffEngine(threads=2, memory_limit="128MB") as engine:
        diff = engine.diff("c", FileSource(path=csv_path, format="csv"), NOTHING)
        assert lines_of(diff.issues) == sorted(i + 2 for i in bad)  # header + 1-based
        assert diff.desired_count == rows - len(bad)
        diff = engine.diff("c", FileSource(path=jsonl_path, format="jsonl", column="id"), NOTHING)
        assert lines_of(diff.issues) == sorted(i + 1 for i in bad)


def test_multiline_records_fall_back_to_a_serial_read_and_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('note,user_id\n"a\nb\r\nc",u1\nx\n"\r",\n,u2\n', encoding="utf-8")
    with DuckDBDiffEngine() as engine:
        diff = engine.diff("c", FileSource(path=path, format="csv", column="user_id"), NOTHING)
    assert diff.to_add.to_pylist() == ["u1", "u2"]
    assert [(i.where.rsplit(":", 1)[1], i.message) for i in diff.issues] == [
        ("5", "empty identifier"),  # the short row "x"
        ("6", "empty identifier"),  # the record spanning lines 6-7
    ]


def test_blank_lines_are_not_counted_by_duckdb(tmp_path: Path) -> None:
    # DuckDB's CSV reader drops blank lines before numbering, so a rejected row after blank lines
    # is reported that many lines early; the Python engine counts them. Documented deviation.
    path = tmp_path / "d.csv"
    path.write_text('user_id\na\n\n\n""\n', encoding="utf-8")
    source = FileSource(path=path, format="csv")
    with DuckDBDiffEngine() as engine:
        assert lines_of(engine.diff("c", source, NOTHING).issues) == [3]
    python = make_engine("python")
    assert lines_of(python.diff("c", source, NOTHING).issues) == [5]


def test_zeros_and_types_survive_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("user_id\n00123\n1e5\n0x1F\ntrue\n2024-01-01\n", encoding="utf-8")
    with DuckDBDiffEngine() as engine:
        diff = engine.diff("c", FileSource(path=path, format="csv"), NOTHING)
    assert diff.to_add.to_pylist() == ["00123", "0x1F", "1e5", "2024-01-01", "true"]


def test_invalid_utf8_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"user_id\n" + b"ok\n" * 5000 + b"\xff\xfe\n")
    with DuckDBDiffEngine() as engine, pytest.raises(SourceError) as caught:
        engine.diff("c", FileSource(path=path, format="csv"), NOTHING)
    assert str(caught.value).startswith(f"Cohort c: cannot read csv source {path}: ")
    assert "\n" not in str(caught.value)


def test_unterminated_quote_reads_like_pythons_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b'user_id\n"unterminated\n')
    source = FileSource(path=path, format="csv")
    with DuckDBDiffEngine() as engine:
        assert engine.diff("c", source, NOTHING).to_add.to_pylist() == ["unterminated"]
    assert make_engine("python").diff("c", source, NOTHING).to_add.to_pylist() == ["unterminated"]


def test_corrupt_snapshot_is_a_state_error(tmp_path: Path) -> None:
    from cohortops.errors import StateError

    snapshot = tmp_path / "s.parquet"
    snapshot.write_text("not parquet")
    source_path = tmp_path / "d.csv"
    source_path.write_text("id\na\n")
    with DuckDBDiffEngine() as engine, pytest.raises(StateError):
        engine.diff(
            "c",
            FileSource(path=source_path, format="csv"),
            RecordedMembers("c", snapshot, [], [], 1),
        )


def test_settings_temp_dir_and_close(tmp_path: Path) -> None:
    wrapped = make_engine("duckdb", memory_limit="64MB", threads=1)
    assert isinstance(wrapped, WarehouseDiffEngine)  # routes `diff: warehouse` sources
    engine = wrapped.local
    assert isinstance(engine, DuckDBDiffEngine)
    settings = engine.con.sql(
        "select current_setting('memory_limit'), current_setting('threads'), "
        "current_setting('preserve_insertion_order'), current_setting('temp_directory')"
    ).fetchall()[0]
    assert settings[1:3] == (1, False)
    assert settings[0].startswith("61.") or "64" in settings[0]
    spill = Path(settings[3])
    assert spill.is_dir()
    engine.close()
    engine.close()  # idempotent
    assert not spill.exists()
    with pytest.raises(PlanError, match="closed"):
        engine.diff("c", FileSource(path=tmp_path / "x.csv", format="csv"), NOTHING)
    given = tmp_path / "spill"
    given.mkdir()
    with DuckDBDiffEngine(temp_dir=given) as kept:
        assert kept.con.sql("select current_setting('temp_directory')").fetchall()[0][0] == str(
            given
        )
    assert given.is_dir()


def test_unknown_engine() -> None:
    with pytest.raises(PlanError, match="Unknown diff engine 'polars'"):
        make_engine("polars")


def test_snapshot_with_integer_like_ids(tmp_path: Path) -> None:
    snapshot = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": pa.array(["00123", "7"])}), snapshot, compression="zstd")
    path = tmp_path / "d.csv"
    path.write_text("id\n00123\n007\n")
    with DuckDBDiffEngine() as engine:
        diff = engine.diff(
            "c", FileSource(path=path, format="csv"), RecordedMembers("c", snapshot, [], [], 2)
        )
    assert diff.to_add.to_pylist() == ["007"] and diff.to_remove.to_pylist() == ["7"]


# -- join keys: ids of 1-15 bytes join on a packed 128-bit key, longer ones as strings ---------

SHORT = ["a", "~", "0", "00123", "123", "user_000000001", "x" * 15, "é" * 7 + "x", "ユーザー"]
LONG = ["y" * 16, "z" * 40, "f47ac10b-58cc-4372-a567-0e02b2c3d479", "é" * 8]
# 15-byte ids one bit apart: equal as DOUBLEs, so a key that lost precision would merge them.
NEAR = ["aaaaaaaaaaaaaab", "aaaaaaaaaaaaaac"]


def as_tuple(diff: MemberDiff) -> tuple[object, ...]:
    return (
        diff.to_add.to_pylist(),
        diff.to_remove.to_pylist(),
        diff.desired_count,
        diff.recorded_count,
        dict(diff.skipped),
        diff.duplicates,
        [(i.where, i.message) for i in diff.issues],
    )


def write_recorded(tmp_path: Path, ids: list[str], added: Sequence[str] = ()) -> RecordedMembers:
    snapshot = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": pa.array(sorted(ids), pa.string())}), snapshot)
    return RecordedMembers("c", snapshot, list(added), [], 0)


@pytest.mark.parametrize("join", ["packed", "string", "auto"])
def test_join_keys_agree_with_the_python_engine(tmp_path: Path, join: JoinKey) -> None:
    desired = [
        *SHORT[::2],
        *LONG[::2],
        NEAR[0],
        " padded ",
        "",
        "x" * 300,
        "bad\x01",
        "a",
        "y" * 16,
    ]
    path = tmp_path / "d.csv"
    path.write_text("id\n" + "".join(f'"{v}"\n' for v in desired), encoding="utf-8")
    # Recorded ids are not cleaned again: a control character or a leading NUL must survive.
    members = write_recorded(
        tmp_path, [*SHORT[1::2], *LONG[1::2], NEAR[1], "\x00a", "\x01a", "a"], added=["z" * 20]
    )
    source = FileSource(path=path, format="csv")
    with DuckDBDiffEngine(join=join) as engine:
        got = engine.diff("c", source, members)
    expected = make_engine("python").diff("c", source, members)
    assert as_tuple(got) == as_tuple(expected)
    assert NEAR[0] in got.to_add.to_pylist() and NEAR[1] in got.to_remove.to_pylist()
    assert got.to_add.type == pa.string() and got.to_remove.type == pa.string()


def test_packed_keys_round_trip_every_length_and_byte(tmp_path: Path) -> None:
    ids = [chr(c) * n for c in (0x21, 0x7E, 0xE9, 0x4E00) for n in range(1, 16)]
    ids = [i for i in ids if len(i.encode()) <= 15] + ["\x01", "\x7f" * 15]
    with DuckDBDiffEngine() as engine:
        table = engine.con.execute(
            f"SELECT v, {packable('v')} AS ok, {unpacked(packed('v'))} AS back "
            "FROM (SELECT unnest($ids) AS v)",
            {"ids": ids},
        ).fetchall()
    assert [(v, ok, back) for v, ok, back in table] == [(i, True, i) for i in ids]


def test_only_short_ids_skip_the_string_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cohortops.diff.duckdb_engine as module

    def refuse(*_: object, **__: object) -> str:
        raise AssertionError("the string join ran")

    monkeypatch.setattr(module, "string_sql", refuse)
    path = tmp_path / "d.csv"
    path.write_text("id\n" + "".join(f"{v}\n" for v in SHORT), encoding="utf-8")
    with DuckDBDiffEngine() as engine:
        diff = engine.diff("c", FileSource(path=path, format="csv"), write_recorded(tmp_path, NEAR))
    assert diff.to_add.to_pylist() == sorted(SHORT, key=str.encode)
    assert diff.to_remove.to_pylist() == NEAR


def test_mostly_long_ids_join_as_strings_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cohortops.diff.duckdb_engine as module

    def refuse(*_: object, **__: object) -> str:
        raise AssertionError("the packed join ran")

    monkeypatch.setattr(module, "packed_sql", refuse)
    uuids = [f"{i:08x}-58cc-4372-a567-0e02b2c3d479" for i in range(50)]
    path = tmp_path / "d.csv"
    path.write_text("id\n" + "".join(f"{v}\n" for v in uuids[10:]), encoding="utf-8")
    with DuckDBDiffEngine() as engine:
        diff = engine.diff(
            "c", FileSource(path=path, format="csv"), write_recorded(tmp_path, uuids[:20])
        )
    assert diff.to_add.to_pylist() == uuids[20:] and diff.to_remove.to_pylist() == uuids[:10]


def test_bom_only_first_line_counts_in_headerless_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b'\xef\xbb\xbf\r\n""\r\nok\r\n')
    source = FileSource(path=path, format="csv", header=False)
    with DuckDBDiffEngine() as engine:
        got = engine.diff("c", source, NOTHING)
    assert (
        lines_of(got.issues)
        == [2]
        == lines_of(make_engine("python").diff("c", source, NOTHING).issues)
    )


def test_the_join_key_sample_reads_only_the_head_of_a_csv_serially(tmp_path: Path) -> None:
    from cohortops.sources.duckdb_scan import file_scan

    path = tmp_path / "d.csv"
    path.write_text("id\n" + "".join(f"u{i}\n" for i in range(10)), encoding="utf-8")
    source = FileSource(path=path, format="csv")
    head, full = file_scan(source, "c", head=True), file_scan(source, "c")
    assert head.serial and "parallel=false" in head.rows_sql
    assert "buffer_size=4194304" in head.rows_sql  # the smallest buffer, whatever the file size
    assert not full.serial and "parallel=true" in full.rows_sql


def test_a_serial_sample_still_lets_the_join_fall_back_on_multiline_records(
    tmp_path: Path,
) -> None:
    # The sample no longer meets the parallel reader's refusal; the join does, and retries.
    path = tmp_path / "d.csv"
    path.write_text('note,user_id\n"a\nb",u1\nx,u3\n', encoding="utf-8")
    source = FileSource(path=path, format="csv", column="user_id")
    recorded = write_recorded(tmp_path, ["u2", "u3"])
    with DuckDBDiffEngine() as engine:
        diff = engine.diff("c", source, recorded)
    reference = make_engine("python").diff("c", source, recorded)
    assert diff.to_add.to_pylist() == ["u1"] == reference.to_add.to_pylist()
    assert diff.to_remove.to_pylist() == ["u2"] == reference.to_remove.to_pylist()
