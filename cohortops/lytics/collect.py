"""Membership written to Lytics profiles through the collection API.

A cohort is one key of a map field on the profile: adding a member sends
``{"<id_field>": id, "<field>": {"<key>": true}}``, removing it sends ``false`` for the key.
Both are idempotent and independent of other cohorts' keys, so a re-sent batch is harmless.

- ``POST /collect/json/{stream}``: a JSON array of such objects, under the request size limit
  (:data:`MAX_JSON_BYTES`, below Lytics' 10 MB) and the per-record limit (16 KB in a batch).
- ``POST /collect/bulk/{stream}``: a CSV file (header ``<id_field>,<field>.<key>``), for large
  first syncs; on Lytics it lives on the bulk domain, so it has its own base URL.

Lytics collects asynchronously: a 2xx answer accepts every record of the request.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import orjson

from cohortops.lytics.transport import LyticsHttp

MAX_JSON_BYTES = 8_000_000
MAX_JSON_RECORDS = 5_000
MAX_CSV_RECORDS = 500_000
BULK_THRESHOLD = 50_000  # adds of a first sync from which bulk CSV is used

Mode = Literal["json", "csv"]


@dataclass(frozen=True)
class CollectBatch:
    """One request's worth of membership changes for one cohort key."""

    stream: str
    id_field: str
    field: str
    key: str
    action: Literal["add", "remove"]
    ids: tuple[str, ...]
    mode: Mode = "json"

    @property
    def value(self) -> bool:
        return self.action == "add"


def record(batch: CollectBatch, member: str) -> dict[str, object]:
    return {batch.id_field: member, batch.field: {batch.key: batch.value}}


def json_body(batch: CollectBatch) -> bytes:
    return orjson.dumps([record(batch, m) for m in batch.ids])


def csv_body(batch: CollectBatch) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([batch.id_field, f"{batch.field}.{batch.key}"])
    value = "true" if batch.value else "false"
    writer.writerows([m, value] for m in batch.ids)
    return out.getvalue().encode()


def per_record_bytes(id_field: str, field: str, key: str) -> int:
    """Bytes of one JSON record besides its id's own JSON text, plus the separating comma."""
    probe = {id_field: "", field: {key: False}}
    return len(orjson.dumps(probe)) - 2 + 1


def send(http: LyticsHttp, batch: CollectBatch) -> None:
    """Deliver one batch; raises :class:`~cohortops.errors.LyticsError` when it is refused."""
    stream = quote(batch.stream, safe="")
    if batch.mode == "csv":
        http.request(
            "POST", f"/collect/bulk/{stream}", content=csv_body(batch), content_type="text/csv"
        )
        return
    http.request("POST", f"/collect/json/{stream}", content=json_body(batch))
