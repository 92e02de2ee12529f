"""A Lytics destination behind the applier's :class:`~cohortops.apply.remote.Remote` interface.

Membership is one key (the cohort's remote id) of a map field (the connection's attribute) on
the profiles of the destination's stream: ``true`` while a member, ``false`` once removed.
Batches hold at most :data:`~cohortops.lytics.MAX_JSON_RECORDS` records and
:data:`~cohortops.lytics.MAX_JSON_BYTES` of JSON; the adds of a first sync of at least
:data:`~cohortops.lytics.BULK_THRESHOLD` members go as bulk CSV files instead. Lytics accepts a
request as a whole, so a 2xx acknowledges every id of the batch and a failure none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from cohortops.braze import invalid_reason
from cohortops.config.model import Destination
from cohortops.errors import LyticsError
from cohortops.lytics import (
    BULK_THRESHOLD,
    MAX_CSV_RECORDS,
    MAX_JSON_BYTES,
    MAX_JSON_RECORDS,
    CollectBatch,
    LyticsHttp,
    per_record_bytes,
    send,
)
from cohortops.membership import MemberOp
from cohortops.plan.model import CohortPlan


@dataclass(frozen=True)
class CollectResult:
    batch: CollectBatch
    acknowledged: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    error: LyticsError | None = None


class CollectBatches:
    """A single-pass, lazy split of ids into :class:`CollectBatch` es, in input order."""

    def __init__(self, ids: Iterable[str], template: CollectBatch, *, max_ids: int) -> None:
        self.invalid: list[tuple[str, str]] = []
        self._ids = ids
        self._template = template
        self._max_ids = max_ids
        self._per_id = per_record_bytes(template.id_field, template.field, template.key)

    def _make(self, chunk: list[str]) -> CollectBatch:
        t = self._template
        return CollectBatch(t.stream, t.id_field, t.field, t.key, t.action, tuple(chunk), t.mode)

    def __iter__(self) -> Iterator[CollectBatch]:
        pending: list[str] = []
        size = 2
        for member in self._ids:
            reason = invalid_reason(member)
            if reason is not None:
                self.invalid.append((str(member), reason))
                continue
            cost = self._per_id + len(orjson.dumps(member))
            if pending and (len(pending) >= self._max_ids or size + cost > MAX_JSON_BYTES):
                yield self._make(pending)
                pending, size = [], 2
            pending.append(member)
            size += cost
        if pending:
            yield self._make(pending)


class LyticsRemote:
    latency = 0.05

    def __init__(
        self, http: LyticsHttp, bulk: LyticsHttp, destination: Destination, cohort: CohortPlan
    ) -> None:
        self.http = http
        self.bulk = bulk
        self.destination = destination
        self.cohort = cohort

    @property
    def requests_per_second(self) -> float:
        return self.destination.requests_per_second

    def ensure_cohort(self, cohort: CohortPlan, *, created_at: dt.datetime) -> None:
        """A map key needs no creation: nothing to do."""

    def batches(self, cohort: CohortPlan, op: MemberOp, ids: Iterable[str]) -> CollectBatches:
        first_sync = op == "add" and cohort.recorded_count == 0 and cohort.adds >= BULK_THRESHOLD
        template = CollectBatch(
            stream=self.destination.stream,
            id_field=self.destination.id_field,
            field=cohort.attribute or "braze_cohorts",
            key=cohort.remote_id,
            action="add" if op == "add" else "remove",
            ids=(),
            mode="csv" if first_sync else "json",
        )
        limit = MAX_CSV_RECORDS if first_sync else min(cohort.batch_size, MAX_JSON_RECORDS)
        return CollectBatches(ids, template, max_ids=limit)

    def send(self, batch: CollectBatch) -> CollectResult:
        try:
            send(self.bulk if batch.mode == "csv" else self.http, batch)
        except LyticsError as exc:
            reason = str(exc)
            return CollectResult(batch, (), tuple((m, reason) for m in batch.ids), exc)
        return CollectResult(batch, batch.ids, ())


class LyticsClients:
    """One HTTP client per Lytics destination (and its bulk endpoint) for one apply."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self._options = {k: v for k, v in (options or {}).items() if k in ("transport",)}
        self._clients: dict[str, tuple[LyticsHttp, LyticsHttp]] = {}

    def remote(self, destination: Destination, cohort: CohortPlan) -> LyticsRemote:
        if destination.id not in self._clients:
            token = destination.api_key.reveal()
            what = f"Destination {destination.id}"
            hint = destination.api_key.env_hint
            http = LyticsHttp(destination.rest_endpoint.reveal(), token, what=what, token_hint=hint)
            bulk = http
            if destination.bulk_endpoint is not None:
                bulk = LyticsHttp(
                    destination.bulk_endpoint.reveal(),
                    token,
                    what=what,
                    token_hint=hint,
                    timeout=300.0,
                )
            self._clients[destination.id] = (http, bulk)
        http, bulk = self._clients[destination.id]
        return LyticsRemote(http, bulk, destination, cohort)

    def close(self) -> None:
        for http, bulk in self._clients.values():
            http.close()
            if bulk is not http:
                bulk.close()
