"""Segment scan paging, and ids read from profiles."""

from __future__ import annotations

import httpx
import orjson
import pytest

from cohortops.errors import LyticsError
from cohortops.lytics import MISSING_ID, LyticsHttp, id_value, scan_pages
from cohortops.sources.hygiene import BAD_TYPE, MESSAGES


def test_reasons_match_the_hygiene_keys() -> None:
    from cohortops.lytics import BAD_TYPE as LYTICS_BAD_TYPE

    assert LYTICS_BAD_TYPE == BAD_TYPE and MISSING_ID in MESSAGES


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"id": "a"}, ("a", None)),
        ({"id": 7}, ("7", None)),
        ({"id": ["a"]}, ("a", None)),
        ({"other": "a"}, (None, MISSING_ID)),
        ({"id": None}, (None, MISSING_ID)),
        ({"id": True}, (None, BAD_TYPE)),
        ({"id": ["a", "b"]}, (None, BAD_TYPE)),
        ("text", (None, MISSING_ID)),
    ],
)
def test_id_value(profile: object, expected: tuple[str | None, str | None]) -> None:
    assert id_value(profile, "id") == expected


def pages(bodies: list[dict[str, object]]) -> tuple[LyticsHttp, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=orjson.dumps(bodies.pop(0)))

    return LyticsHttp("http://l", "t", what="c", transport=httpx.MockTransport(handle)), seen


def test_pages_follow_next_until_empty() -> None:
    http, seen = pages(
        [
            {"status": 200, "data": [{"id": "a"}, {"x": 1}], "_next": "T1", "total": 3},
            {"status": "200", "data": [{"id": "b"}], "_next": ""},
        ]
    )
    got = list(scan_pages(http, "seg/1", "id", limit=2))
    assert [p.raws for p in got] == [["a", None], ["b"]]
    assert got[0].flags == [None, MISSING_ID] and got[0].total == 3
    assert seen[0].url.raw_path.startswith(b"/api/segment/seg%2F1/scan")
    assert "start" not in seen[0].url.params and seen[1].url.params["start"] == "T1"
    assert seen[0].url.params["limit"] == "2"


def test_a_repeated_token_stops_the_scan() -> None:
    page = {"status": 200, "data": [{"id": "a"}], "_next": "same"}
    http, _ = pages([page, page, page])
    with pytest.raises(LyticsError, match="twice"):
        list(scan_pages(http, "s", "id"))
