"""``POST /users/export/segment``: request body and response (see docs/braze-contract.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from cohortops.errors import BrazeError

OUTPUT_FORMATS = ("zip", "gzip")


@dataclass(frozen=True)
class SegmentExport:
    """A started export: Braze writes the archive at ``url`` (None with cloud storage set up)."""

    segment_id: str
    object_prefix: str
    url: str | None


def segment_export_body(segment_id: str, fields: Sequence[str], output_format: str) -> bytes:
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be 'zip' or 'gzip', not {output_format!r}")
    if not fields:
        raise ValueError("fields_to_export must name at least one field")
    return orjson.dumps(
        {"segment_id": segment_id, "fields_to_export": list(fields), "output_format": output_format}
    )


def segment_export_result(segment_id: str, decoded: object) -> SegmentExport:
    body = decoded if isinstance(decoded, dict) else {}
    prefix = body.get("object_prefix")
    url = body.get("url")
    if not isinstance(prefix, str):
        raise BrazeError(
            f"Braze answered the export of segment {segment_id} without an object_prefix.",
            hint="Check the segment id and the API key's users.export.segment permission.",
        )
    if url is not None and not isinstance(url, str):
        url = None
    if url is None:
        raise BrazeError(
            f"Braze wrote the export of segment {segment_id} to the workspace's cloud storage "
            "(no download URL).",
            hint="Download the files from the bucket and use `cohortops import COHORT --from FILE`.",
        )
    return SegmentExport(segment_id, prefix, url)
