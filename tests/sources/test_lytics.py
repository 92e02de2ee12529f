"""Lytics sources as Arrow batches: positions across pages, rejected rows, failures."""

from __future__ import annotations

import pytest

from cohortops.config.model import LyticsSource, Secret
from cohortops.errors import SourceError
from cohortops.sandbox.config import DEFAULT_LYTICS_TOKEN
from cohortops.sandbox.testing import running_sandbox
from cohortops.sources import read_source_arrow
from cohortops.sources.lytics import lytics_batches


def source(base_url: str, segment: str, token: str = DEFAULT_LYTICS_TOKEN) -> LyticsSource:
    return LyticsSource(
        segment=segment,
        token=Secret(token),
        endpoint=Secret(f"{base_url}/lytics"),
        page_size=3,
    )


def test_pages_are_gathered_into_batches_with_positions() -> None:
    profiles = [{"external_id": "a"}, {"other": 1}, {"external_id": 7}, {"external_id": True}]
    profiles += [{"external_id": f"m{i}"} for i in range(6)]
    with running_sandbox() as server:
        server.add_lytics_audience({"id": "s1", "profiles": profiles})
        batches = list(lytics_batches(source(server.base_url, "s1"), "c", chunk_rows=4))
        desired = read_source_arrow(source(server.base_url, "s1"), "c")
    assert [b.num_rows for b in batches] == [6, 4]  # pages of 3, gathered to at least 4
    rows = [r for b in batches for r in b.to_pylist()]
    assert [r["pos"] for r in rows] == list(range(1, 11))
    assert rows[1] == {"pos": 2, "raw": None, "flag": "missing_id_field"}
    assert rows[2]["raw"] == "7" and rows[3]["flag"] == "not_string_or_integer"
    assert desired.skipped == {"missing_id_field": 1, "not_string_or_integer": 1}
    assert desired.issues[0].where == "lytics segment s1 profile 2"
    assert desired.count == 8


def test_a_refused_token_is_a_source_error_without_the_token() -> None:
    with running_sandbox() as server:
        server.add_lytics_audience({"id": "s1", "ids": ["a"]})
        with pytest.raises(SourceError) as info:
            list(lytics_batches(source(server.base_url, "s1", token="wrong-token"), "c"))
    assert "refused the API token" in str(info.value) and "wrong-token" not in str(info.value)
