"""Lytics API client: audience membership read with the segment scan API, membership written
with the collection API. The contract is in ``docs/lytics-contract.md``.

Requests go out only through :mod:`cohortops.lytics.transport`, on the shared ``cohortops.http`` layer.
"""

from cohortops.lytics.collect import (
    BULK_THRESHOLD,
    MAX_CSV_RECORDS,
    MAX_JSON_BYTES,
    MAX_JSON_RECORDS,
    CollectBatch,
    per_record_bytes,
    send,
)
from cohortops.lytics.scan import BAD_TYPE, DEFAULT_PAGE, MISSING_ID, Page, id_value, scan_pages
from cohortops.lytics.transport import LyticsHttp, envelope_status

DEFAULT_ENDPOINT = "https://api.lytics.io"

__all__ = [
    "BAD_TYPE",
    "BULK_THRESHOLD",
    "DEFAULT_ENDPOINT",
    "DEFAULT_PAGE",
    "MAX_CSV_RECORDS",
    "MAX_JSON_BYTES",
    "MAX_JSON_RECORDS",
    "MISSING_ID",
    "CollectBatch",
    "LyticsHttp",
    "Page",
    "envelope_status",
    "id_value",
    "per_record_bytes",
    "scan_pages",
    "send",
]
