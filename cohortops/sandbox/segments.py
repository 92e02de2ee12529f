"""Segments and ``POST /users/export/segment``.

A sandbox segment is defined through the admin API (``POST /_sandbox/segments``) with one
filter: ``{"attribute": NAME, "includes": VALUE}`` (the profile's custom attribute is an array
holding VALUE, or equals it) or ``{"partner_cohort": {"partner": SLUG, "cohort_id": ID}}``
(member of that partner cohort). Braze itself defines segments in its dashboard; these two
filters are the ones that mirror a cohortops cohort.

An export snapshots the members when it is requested and is downloadable from its URL once
``segment_export_ready_ms`` has passed; before that the URL answers 404, as a not-yet-written
object in a bucket does. One export per segment at a time: a second request while the first is
not ready is refused with 429 (Braze documents the rule, not the status; see
docs/braze-contract.md). Definitions survive ``POST /_sandbox/reset`` (Braze losing data does
not delete segments); exports do not.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cohortops.sandbox.segment_archive import FORMATS, build_archive

# Fields the sandbox can fill in an exported line; others in fields_to_export are accepted and
# left out (Braze has many more, none of which cohortops reads).
EXPORTABLE = ("external_id", "braze_id", "user_aliases", "custom_attributes")


class SegmentRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SegmentFilter:
    attribute: str | None = None
    value: Any = None
    partner: str | None = None
    cohort_id: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    segment_id: str
    name: str
    filter: SegmentFilter

    def describe(self) -> dict[str, Any]:
        f = self.filter
        body: dict[str, Any] = (
            {"attribute": f.attribute, "includes": f.value}
            if f.attribute is not None
            else {"partner_cohort": {"partner": f.partner, "cohort_id": f.cohort_id}}
        )
        return {"segment_id": self.segment_id, "name": self.name, "filter": body}


@dataclass(frozen=True, slots=True)
class ExportJob:
    segment_id: str
    object_prefix: str
    output_format: str
    ready_at: float
    archive: bytes
    user_count: int


def parse_segment(body: Any) -> Segment:
    if not isinstance(body, dict):
        raise SegmentRejected(400, "Send a JSON object with segment_id, name and filter.")
    segment_id, name, raw = body.get("segment_id"), body.get("name"), body.get("filter")
    if not isinstance(segment_id, str) or not segment_id:
        raise SegmentRejected(400, "segment_id must be a non-empty string.")
    if name is None:
        name = segment_id
    if not isinstance(name, str) or not isinstance(raw, dict):
        raise SegmentRejected(400, "name must be a string and filter an object.")
    if isinstance(raw.get("attribute"), str) and "includes" in raw and len(raw) == 2:
        value = raw["includes"]
        if not isinstance(value, str | int | float | bool):
            raise SegmentRejected(400, "filter.includes must be a string, number or boolean.")
        return Segment(segment_id, name, SegmentFilter(attribute=raw["attribute"], value=value))
    cohort = raw.get("partner_cohort")
    if (
        len(raw) == 1
        and isinstance(cohort, dict)
        and isinstance(cohort.get("partner"), str)
        and isinstance(cohort.get("cohort_id"), str)
    ):
        return Segment(
            segment_id,
            name,
            SegmentFilter(partner=cohort["partner"], cohort_id=cohort["cohort_id"]),
        )
    raise SegmentRejected(
        400,
        'filter must be {"attribute": NAME, "includes": VALUE} or '
        '{"partner_cohort": {"partner": SLUG, "cohort_id": ID}}.',
    )


@dataclass(frozen=True, slots=True)
class ExportRequest:
    segment_id: str
    fields: tuple[str, ...]
    output_format: str


def parse_export_request(body: Any) -> ExportRequest:
    if not isinstance(body, dict):
        raise SegmentRejected(400, "Request body must be a JSON object.")
    segment_id = body.get("segment_id")
    if not isinstance(segment_id, str) or not segment_id:
        raise SegmentRejected(400, "'segment_id' is required.")
    fields = body.get("fields_to_export")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise SegmentRejected(400, "'fields_to_export' is required: a non-empty array of names.")
    output_format = body.get("output_format", "zip")
    if output_format not in FORMATS:
        raise SegmentRejected(400, "'output_format' must be 'zip' or 'gzip'.")
    return ExportRequest(segment_id, tuple(fields), output_format)


class SegmentRegistry:
    """Definitions and the exports made from them (the newest per segment)."""

    def __init__(self) -> None:
        self.segments: dict[str, Segment] = {}
        self.exports: dict[str, ExportJob] = {}  # object_prefix -> job
        self._latest: dict[str, str] = {}  # segment_id -> object_prefix

    def define(self, segment: Segment) -> None:
        self.segments[segment.segment_id] = segment

    def clear_exports(self) -> None:
        self.exports.clear()
        self._latest.clear()

    def start(
        self, request: ExportRequest, lines: Iterator[bytes], now: float, ready_after: float
    ) -> ExportJob:
        """Snapshot ``lines`` into an archive; refuses while the segment's last export is busy."""
        latest = self.exports.get(self._latest.get(request.segment_id, ""))
        if latest is not None and latest.ready_at > now:
            raise SegmentRejected(
                429,
                f"An export of segment {request.segment_id} is already running; "
                "wait for it to complete before starting another.",
            )
        # Braze's prefix: a random UUID-like token and the start time in seconds.
        prefix = f"{secrets.token_hex(16)}-{int(now)}"
        archive, count = build_archive(lines, prefix, request.output_format)
        job = ExportJob(
            request.segment_id, prefix, request.output_format, now + ready_after, archive, count
        )
        if latest is not None:
            self.exports.pop(latest.object_prefix, None)
        self.exports[prefix] = job
        self._latest[request.segment_id] = prefix
        return job

    def dump(self) -> list[dict[str, Any]]:
        return [s.describe() for s in self.segments.values()]
