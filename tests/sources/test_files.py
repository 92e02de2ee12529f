"""The plain-Python file readers behind read_source_arrow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.config.model import FileFormat, FileSource
from cohortops.errors import SourceError
from cohortops.sources import read_source_arrow
from cohortops.sources.files import csv_layout, iter_file


class CsvOptions(TypedDict, total=False):
    """FileSource's CSV keyword arguments."""

    column: str
    header: bool
    delimiter: str


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def rows(source: FileSource) -> list[tuple[int, str | None, str | None]]:
    return list(iter_file(source, "c"))


def test_csv_named_column_keeps_leading_zeros(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "name,user_id\nann,00123\nbob, 42 \n")
    desired = read_source_arrow(FileSource(path=path, format="csv", column="user_id"), "c")
    assert desired.ids.to_pylist() == ["00123", "42"]
    assert desired.rows == 2 and desired.issues == () and desired.skipped == {}


def test_csv_first_column_by_default_and_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id;x\na;1\nb;2\n")
    source = FileSource(path=path, format="csv", delimiter=";")
    assert read_source_arrow(source, "c").ids.to_pylist() == ["a", "b"]


def test_csv_without_header(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a\nb\n")
    source = FileSource(path=path, format="csv", header=False)
    assert read_source_arrow(source, "c").ids.to_pylist() == ["a", "b"]


def test_csv_lines_count_header_blank_lines_and_multiline_records(tmp_path: Path) -> None:
    text = 'user_id\r\nok\r\n"two\nlines"\r\n\r\n""\r\nshort\r\n'
    source = FileSource(path=write(tmp_path / "d.csv", text), format="csv")
    assert rows(source) == [
        (2, "ok", None),
        (3, "two\nlines", None),
        (6, "", None),
        (7, "short", None),
    ]
    desired = read_source_arrow(source, "c")
    assert [i.where for i in desired.issues] == [f"{tmp_path}/d.csv:3", f"{tmp_path}/d.csv:6"]
    assert desired.skipped == {"control_character": 1, "empty": 1}


def test_csv_short_rows_are_empty_identifiers(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,user_id\n1,x\n2\n")
    desired = read_source_arrow(FileSource(path=path, format="csv", column="user_id"), "c")
    assert desired.ids.to_pylist() == ["x"]
    assert desired.skipped == {"empty": 1}


def test_csv_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("\ufeffuser_id\nx\n".encode())
    assert csv_layout(FileSource(path=path, format="csv", column="user_id"), "c").index == 0


@pytest.mark.parametrize(
    ("text", "source_kwargs", "message"),
    [
        ("a,b\n1,2\n", {"column": "user_id"}, "has no column 'user_id' (found: a, b)"),
        ("", {}, "is empty; a header row was expected"),
        ("a\n", {"column": "a", "header": False}, "`source.column` needs a header row"),
        ("a\n", {"delimiter": "::"}, "CSV delimiter '::' is not usable"),
    ],
)
def test_csv_errors(tmp_path: Path, text: str, source_kwargs: CsvOptions, message: str) -> None:
    source = FileSource(path=write(tmp_path / "d.csv", text), format="csv", **source_kwargs)
    with pytest.raises(SourceError, match=r"^Cohort c: ") as caught:
        read_source_arrow(source, "c")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_names_cohort_and_fix(tmp_path: Path) -> None:
    formats: tuple[FileFormat, ...] = ("csv", "jsonl", "parquet")
    for fmt in formats:
        source = FileSource(path=tmp_path / f"nope.{fmt}", format=fmt)
        with pytest.raises(SourceError) as caught:
            read_source_arrow(source, "churn")
        assert str(caught.value).startswith(
            f"Cohort churn: source file {tmp_path}/nope.{fmt} does not exist."
        )
        assert "source.file" in str(caught.value)


def test_invalid_utf8_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"user_id\nok\n\xff\xfe\n")
    with pytest.raises(SourceError, match="cannot read csv source"):
        read_source_arrow(FileSource(path=path, format="csv"), "c")


def test_jsonl_rows(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": " a "}),
        json.dumps({"id": 7}),
        "",
        "{broken",
        "[1]",
        json.dumps({"id": 1.5}),
        json.dumps({"other": 1}),
        json.dumps({"id": True}),
        '{"id": "\\ud800"}',
        "   ",
        json.dumps({"id": "b"}) + "\r",
    ]
    source = FileSource(
        path=write(tmp_path / "d.jsonl", "\n".join(lines)), format="jsonl", column="id"
    )
    assert rows(source) == [
        (1, " a ", None),
        (2, "7", None),
        (4, None, "invalid_json"),
        (5, None, "not_json_object"),
        (6, None, "not_string_or_integer"),
        (7, None, None),
        (8, None, "not_string_or_integer"),
        (9, None, "invalid_json"),
        (11, "b", None),
    ]
    desired = read_source_arrow(source, "c")
    assert desired.ids.to_pylist() == ["a", "7", "b"]
    assert desired.skipped == {
        "invalid_json": 2,
        "not_json_object": 1,
        "not_string_or_integer": 2,
        "empty": 1,
    }
    assert [i.where.rsplit(":", 1)[1] for i in desired.issues] == ["4", "5", "6", "7", "8", "9"]


def test_jsonl_first_key_when_no_field(tmp_path: Path) -> None:
    text = '{"uid": "x", "id": "y"}\n{}\n{"uid": 5}\n'
    desired = read_source_arrow(
        FileSource(path=write(tmp_path / "d.jsonl", text), format="jsonl"), "c"
    )
    assert desired.ids.to_pylist() == ["x", "5"]
    assert desired.skipped == {"empty": 1}


def test_parquet_string_and_integer_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    table = pa.table(
        {
            "n": pa.array([1, None, 3, 3], pa.int64()),
            "s": pa.array(["a", " b", None, "a"]).dictionary_encode(),
        }
    )
    pq.write_table(table, path)
    numbers = read_source_arrow(FileSource(path=path, format="parquet"), "c")
    assert numbers.ids.to_pylist() == ["1", "3"]
    assert numbers.duplicates == 1 and numbers.skipped == {"empty": 1}
    assert numbers.issues[0].where.endswith("d.parquet row 2")
    strings = read_source_arrow(FileSource(path=path, format="parquet", column="s"), "c")
    assert strings.ids.to_pylist() == ["a", "b"]


def test_parquet_errors(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"f": pa.array([1.5])}), path)
    with pytest.raises(SourceError, match="has type double"):
        read_source_arrow(FileSource(path=path, format="parquet"), "c")
    with pytest.raises(SourceError, match="has no column 'id' \\(found: f\\)"):
        read_source_arrow(FileSource(path=path, format="parquet", column="id"), "c")
    broken = write(tmp_path / "broken.parquet", "not parquet")
    with pytest.raises(SourceError, match="cannot read parquet source"):
        read_source_arrow(FileSource(path=broken, format="parquet"), "c")


def test_missing_column_error_shows_only_a_masked_header_excerpt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cohortops.config.model import FileSource
    from cohortops.sources.files import csv_layout

    monkeypatch.setenv("SOME_TOKEN", "tok-9f8e7d6c5b")
    path = tmp_path / "env.csv"
    header = [
        "BRAZE_API_KEY=SECRET123",
        "x tok-9f8e7d6c5b y",
        "a\x1bb",
        *[f"c{i}" for i in range(99)],
    ]
    path.write_text(",".join(header) + "\nv\n")
    with pytest.raises(SourceError) as info:
        csv_layout(FileSource(path=path, format="csv", column="nosuch"), "c")
    message = str(info.value)
    assert "SECRET123" not in message and "tok-9f8e7d6c5b" not in message
    assert "\x1b" not in message and "BRAZE_API_KEY=***" in message
    assert "more)" in message and len(message) < 400
