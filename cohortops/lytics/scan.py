"""Segment scan: every profile of a Lytics audience, page by page.

``GET /api/segment/{id or slug}/scan?limit=N[&start=TOKEN]`` answers an envelope
``{status, message, total, data: [profiles], _next}``; ``_next`` is the token of the following
page and empty (or absent) on the last one. Only one page of profiles is ever held as Python
objects: callers turn each page into Arrow arrays before asking for the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from cohortops.errors import LyticsError
from cohortops.lytics.transport import LyticsHttp

DEFAULT_PAGE = 1000
MISSING_ID = "missing_id_field"  # a profile without the id field: a skipped row, never a member
BAD_TYPE = "not_string_or_integer"  # the same key as cohortops.sources.hygiene.BAD_TYPE
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1


@dataclass(frozen=True)
class Page:
    """One page: per profile the id as text, or None with the reason in ``flags``."""

    raws: list[str | None]
    flags: list[str | None]
    total: int | None


def id_value(profile: object, id_field: str) -> tuple[str | None, str | None]:
    """``(text, None)`` for a usable id, ``(None, reason)`` otherwise."""
    if not isinstance(profile, dict) or id_field not in profile:
        return None, MISSING_ID
    value = profile[id_field]
    if isinstance(value, list) and len(value) == 1:  # Lytics keeps some ids as sets
        value = value[0]
    if value is None:
        return None, MISSING_ID
    if isinstance(value, str):
        return value, None
    if isinstance(value, int) and not isinstance(value, bool) and INT_MIN <= value <= INT_MAX:
        return str(value), None
    return None, BAD_TYPE


def scan_pages(
    http: LyticsHttp, segment: str, id_field: str, *, limit: int = DEFAULT_PAGE
) -> Iterator[Page]:
    """Pages of the segment's profiles in scan order, until ``_next`` is empty."""
    path = f"/api/segment/{quote(segment, safe='')}/scan"
    start: str | None = None
    seen: set[str] = set()
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if start:
            params["start"] = start
        body = http.request("GET", path, params=params)
        if not isinstance(body, dict):
            raise LyticsError(f"{http.what}: Lytics {path} answered without a JSON envelope.")
        data = body.get("data") or []
        if not isinstance(data, list):
            raise LyticsError(f"{http.what}: Lytics {path} answered a non-list `data`.")
        raws: list[str | None] = []
        flags: list[str | None] = []
        for profile in data:
            raw, flag = id_value(profile, id_field)
            raws.append(raw)
            flags.append(flag)
        total = body.get("total")
        yield Page(raws, flags, total if isinstance(total, int) else None)
        token = body.get("_next")
        if not token or not data:
            return
        token = str(token)
        if token in seen:
            raise LyticsError(
                f"{http.what}: Lytics {path} returned the page token {token!r} twice; "
                "the scan would never end."
            )
        seen.add(token)
        start = token
