"""The Braze endpoints' logic: parsed JSON in, (status, body) out. Called under the model lock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cohortops.sandbox.cohorts import PartnerRejected, check_auth, parse_changes, parse_upsert
from cohortops.sandbox.config import ALIAS_NEW, DELETE, EXPORT_IDS, EXPORT_SEGMENT, TRACK
from cohortops.sandbox.runtime import Sandbox
from cohortops.sandbox.segment_members import segment_lines
from cohortops.sandbox.segments import SegmentRejected, parse_export_request
from cohortops.sandbox.track import TrackRejected, parse_track, success_body
from cohortops.sandbox.users_api import (
    RequestRejected,
    parse_alias_new,
    parse_delete,
    parse_export,
)

Result = tuple[int, dict[str, Any]]
Handler = Callable[[Sandbox, Any, dict[str, Any], float], Result]
SUCCESS: dict[str, Any] = {"message": "success"}


@dataclass(frozen=True)
class Endpoint:
    path: str
    handler: Handler
    permission: str | None  # None: partner endpoint, authenticated by keys in the body
    cohort: bool = False  # eligible for injected 423 Locked
    origin: bool = False  # handler needs params["origin"] (scheme://host of the request)


def track(sandbox: Sandbox, body: Any, params: dict[str, Any], now: float) -> Result:
    counters = sandbox.counters
    try:
        request = parse_track(body, sandbox.config)
    except TrackRejected as exc:
        return 400, exc.body
    stats = sandbox.backend.apply_track(request.objects, now)
    counters.objects_per_request[request.total] += 1
    totals = counters.totals
    totals["objects"] += request.total
    totals["data_points"] += stats.data_points
    totals["attribute_changes"] += stats.changes
    totals["users_created"] += stats.created
    totals["objects_dropped"] += stats.dropped
    totals["object_errors"] += len(request.errors)
    return 201, success_body(request)


def cohort_upsert(sandbox: Sandbox, body: Any, params: dict[str, Any], now: float) -> Result:
    try:
        check_auth(body, params["partner"], sandbox.config)
        cohort_id, name, created_at = parse_upsert(body)
    except PartnerRejected as exc:
        return exc.status, {"message": exc.message}
    sandbox.backend.cohorts.upsert(params["partner"], cohort_id, name, created_at)
    return 201, SUCCESS


def cohort_users(sandbox: Sandbox, body: Any, params: dict[str, Any], now: float) -> Result:
    try:
        check_auth(body, params["partner"], sandbox.config)
        cohort_id, changes = parse_changes(body, sandbox.config)
        cohort = sandbox.backend.cohorts.get(params["partner"], cohort_id)
    except PartnerRejected as exc:
        return exc.status, {"message": exc.message}
    stats = sandbox.backend.apply_cohort(cohort, changes)
    total = stats.matched + stats.skipped
    counters = sandbox.counters
    counters.ids_per_cohort_request[total] += 1
    counters.totals["cohort_ids"] += total
    counters.totals["cohort_ids_matched"] += stats.matched
    counters.totals["cohort_ids_skipped"] += stats.skipped
    return 201, SUCCESS


def export_ids(sandbox: Sandbox, body: Any, params: dict[str, Any], now: float) -> Result:
    try:
        query = parse_export(body, sandbox.config)
    except RequestRejected as exc:
        return 400, {"message": exc.message}
    users, invalid = sandbox.backend.export(query, now)
    return 201, {"message": "success", "users": users, "invalid_user_ids": invalid}


def alias_new(sandbox: Sandbox, body: Any, params: dict[str, Any], now: float) -> Result:
    try:
        requests = parse_alias_new(body, sandbox.config)
    except RequestRejected as exc:
        return 400, {"message": exc.message}
    processed = sandbox.backend.alias_new(requests, now)
    return 201, {"message": "success", "aliases_processed": processed}


def delete(sandbox: Sandbox, body: Any, params: dict[str, Any], now: float) -> Result:
    try:
        request = parse_delete(body, sandbox.config)
    except RequestRejected as exc:
        return 400, {"message": exc.message}
    return 202, {"message": "success", "deleted": sandbox.backend.delete(request)}


def export_segment(sandbox: Sandbox, body: Any, params: dict[str, Any], now: float) -> Result:
    try:
        request = parse_export_request(body)
        segment = sandbox.segments.segments.get(request.segment_id)
        if segment is None:
            raise SegmentRejected(400, f"Segment {request.segment_id} was not found.")
        lines = segment_lines(sandbox.backend, segment, request.fields)
        job = sandbox.segments.start(
            request, lines, now, sandbox.settings.segment_export_ready_ms / 1000.0
        )
    except SegmentRejected as exc:
        return exc.status, {"message": exc.message}
    sandbox.counters.totals["segment_exports"] += 1
    extension = "zip" if job.output_format == "zip" else "tar.gz"
    url = f"{params['origin']}/_sandbox/exports/{job.object_prefix}.{extension}"
    return 201, {"message": "success", "object_prefix": job.object_prefix, "url": url}


ENDPOINTS = (
    Endpoint("/users/track", track, TRACK),
    Endpoint("/users/export/ids", export_ids, EXPORT_IDS),
    Endpoint("/users/alias/new", alias_new, ALIAS_NEW),
    Endpoint("/users/delete", delete, DELETE),
    Endpoint("/users/export/segment", export_segment, EXPORT_SEGMENT, origin=True),
    Endpoint("/partners/{partner}/cohorts", cohort_upsert, None, cohort=True),
    Endpoint("/partners/{partner}/cohorts/users", cohort_users, None, cohort=True),
)
