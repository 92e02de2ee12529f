"""Reading segment export archives: formats, identifiers, the decompressed-size bound."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from cohortops.braze.segment_archive import read_member_ids
from cohortops.errors import BrazeError
from cohortops.sandbox.segment_archive import build_archive


def _lines(n: int) -> list[bytes]:
    return [b'{"external_id":"u%06d","braze_id":"b%d","email":"x"}' % (i, i) for i in range(n)]


@pytest.mark.parametrize("fmt", ["zip", "gzip"])
def test_archive_formats(tmp_path: Path, fmt: str) -> None:
    data, count = build_archive(reversed(_lines(12_000)), "p", fmt)
    assert count == 12_000
    path = tmp_path / "export"
    path.write_bytes(data)
    ids = read_member_ids(path)
    assert len(ids) == 12_000
    assert ids[0].as_py() == "u000000"
    assert ids[-1].as_py() == "u011999"


def test_single_gzip_and_plain_lines_with_duplicates_and_nulls(tmp_path: Path) -> None:
    body = b'{"external_id":"b"}\n{"external_id":"a"}\n{"braze_id":"z"}\n{"external_id":"a"}\n'
    (tmp_path / "one.json.gz").write_bytes(gzip.compress(body))
    (tmp_path / "one.json").write_bytes(body)
    assert read_member_ids(tmp_path / "one.json.gz").to_pylist() == ["a", "b"]
    assert read_member_ids(tmp_path / "one.json").to_pylist() == ["a", "b"]


def test_empty_export(tmp_path: Path) -> None:
    data, count = build_archive([], "p", "zip")
    assert count == 0
    (tmp_path / "e.zip").write_bytes(data)
    assert read_member_ids(tmp_path / "e.zip").to_pylist() == []


def test_decompressed_bound_is_enforced(tmp_path: Path) -> None:
    data, _ = build_archive(_lines(1000), "p", "gzip")
    (tmp_path / "a.tgz").write_bytes(data)
    with pytest.raises(BrazeError, match="decompresses to more than 10,000 bytes") as caught:
        read_member_ids(tmp_path / "a.tgz", max_bytes=10_000)
    assert "\n" not in str(caught.value)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.json", b" " * 5_000_000)
    with pytest.raises(BrazeError, match="refused"):
        read_member_ids(bomb, max_bytes=1_000_000)


def test_garbage_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "g.json").write_bytes(b"not json at all\n")
    with pytest.raises(BrazeError, match=r"Cannot read the segment export g\.json"):
        read_member_ids(tmp_path / "g.json")
