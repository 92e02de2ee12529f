from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from cohortops.config.model import FileSource, Secret, SqlSource
from cohortops.sources.hygiene import (
    BAD_TYPE,
    CONTROL,
    EMPTY,
    MAX_ISSUES,
    MESSAGES,
    TOO_LONG,
    IssueLog,
    classify,
    issue_where,
    one_line,
    scalar_to_raw,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("user_1", ("user_1", None)),
        ("  00123\t", ("00123", None)),
        ("\ufeff\u3000id\xa0\u200b", ("id", None)),
        ("a b", ("a b", None)),
        ("Ünïcødé", ("Ünïcødé", None)),
        (None, (None, EMPTY)),
        ("", (None, EMPTY)),
        (" \t\r\n\u2028", (None, EMPTY)),
        ("x" * 255, ("x" * 255, None)),
        ("x" * 256, (None, TOO_LONG)),
        (" " + "é" * 255 + " ", ("é" * 255, None)),  # characters, not bytes
        ("a\nb", (None, CONTROL)),
        ("a\x00b", (None, CONTROL)),
        ("a\x7fb", (None, CONTROL)),
        ("a\x85b", (None, CONTROL)),
        ("a\u2028b", (None, CONTROL)),
        ("x" * 300 + "\n", (None, TOO_LONG)),  # length is checked before characters
    ],
)
def test_classify(raw: str | None, expected: tuple[str | None, str | None]) -> None:
    assert classify(raw) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", ("abc", None)),
        (None, (None, None)),
        (123, ("123", None)),
        (-5, ("-5", None)),
        (2**64 - 1, (str(2**64 - 1), None)),
        (2**64, (None, BAD_TYPE)),
        (-(2**63) - 1, (None, BAD_TYPE)),
        (True, (None, BAD_TYPE)),
        (1.5, (None, BAD_TYPE)),
        (b"x", (None, BAD_TYPE)),
        ([1], (None, BAD_TYPE)),
        (uuid.UUID(int=1), ("00000000-0000-0000-0000-000000000001", None)),
    ],
)
def test_scalar_to_raw(value: object, expected: tuple[str | None, str | None]) -> None:
    assert scalar_to_raw(value) == expected


def test_issue_where_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    inside = FileSource(path=tmp_path / "data" / "x.csv", format="csv")
    assert issue_where(inside, 17) == "data/x.csv:17"
    outside = FileSource(path=Path("/elsewhere/y.parquet"), format="parquet")
    assert issue_where(outside, 3) == "/elsewhere/y.parquet row 3"
    sql = SqlSource(url=Secret("sqlite://"), query="select 1")
    assert issue_where(sql, 9) == "sql row 9"


def test_issue_log_keeps_first_issues_and_counts_all() -> None:
    log = IssueLog(SqlSource(url=Secret("sqlite://"), query="q"))
    for row in range(1, 251):
        log.reject(row, EMPTY if row % 2 else TOO_LONG)
    assert len(log.issues) == MAX_ISSUES
    assert log.issues[0].where == "sql row 1"
    assert log.issues[0].message == MESSAGES[EMPTY]
    assert log.issues[-1].where == f"sql row {MAX_ISSUES}"
    assert dict(log.skipped) == {EMPTY: 125, TOO_LONG: 125}


def test_one_line() -> None:
    assert one_line("  first\nsecond\n") == "first"
    assert one_line("") == ""
    assert len(one_line("x" * 1000)) == 300
