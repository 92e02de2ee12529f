"""One cohort's view of Braze: which batches to build and which client call sends them.

Secrets are revealed here, at use, and live only inside the client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

from cohortops.braze import (
    AttributeBatch,
    Batches,
    BatchResult,
    BrazeClient,
    CohortImportBatch,
    attribute_batches,
    cohort_import_batches,
)
from cohortops.braze.destination import destination_client
from cohortops.config.model import CohortImportDelivery, Config, Destination
from cohortops.membership import MemberOp
from cohortops.plan.model import CohortPlan

SentBatch = BatchResult[AttributeBatch] | BatchResult[CohortImportBatch]
"""What came of one batch ``Remote.send`` sent, whichever endpoint it went to."""


def make_client(destination: Destination, **kwargs: Any) -> BrazeClient:
    return destination_client(destination, **kwargs)


class Remote(Protocol):
    """What the applier needs from a destination: batches of one cohort's changes and a way to
    send one batch (:class:`BrazeRemote`, :class:`~cohortops.apply.lytics_remote.LyticsRemote`).

    ``batches`` returns a single-pass iterable with ``invalid`` ((id, reason) pairs never sent);
    ``send`` returns a result with ``batch`` (having ``ids``), ``acknowledged``, ``failed`` and
    ``error``, every id of the batch in exactly one of the two tuples.
    """

    latency: float

    @property
    def requests_per_second(self) -> float: ...

    def ensure_cohort(self, cohort: CohortPlan, *, created_at: dt.datetime) -> None: ...

    def batches(self, cohort: CohortPlan, op: MemberOp, ids: Iterable[str]) -> Any: ...

    def send(self, batch: Any) -> Any: ...


class BrazeRemote:
    """Sends one cohort's batches through a destination's client."""

    latency = 0.1  # expected seconds per request, to size the executor's concurrency

    def __init__(self, client: BrazeClient, config: Config, cohort: CohortPlan) -> None:
        self.client = client
        self.cohort = cohort
        # run_apply.check_secrets made sure the plan's connection is still declared
        self.delivery = config.connections[cohort.connection].delivery
        self._secrets: tuple[str, str] | None = None
        self._hints: tuple[str | None, str | None] = (None, None)
        if isinstance(self.delivery, CohortImportDelivery):
            self._secrets = (
                self.delivery.partner_api_key.reveal(),
                self.delivery.client_secret.reveal(),
            )
            self._hints = (
                self.delivery.partner_api_key.env_hint,
                self.delivery.client_secret.env_hint,
            )

    @property
    def requests_per_second(self) -> float:
        return self.client.requests_per_second

    def ensure_cohort(self, cohort: CohortPlan, *, created_at: dt.datetime) -> None:
        assert self._secrets is not None, "only cohort_import cohorts exist remotely"
        self.client.create_or_rename_cohort(
            cohort.partner,
            cohort.remote_id,
            cohort.name,
            partner_api_key=self._secrets[0],
            client_secret=self._secrets[1],
            created_at=created_at,
            partner_api_key_hint=self._hints[0],
            client_secret_hint=self._hints[1],
        )

    def batches(
        self, cohort: CohortPlan, op: MemberOp, ids: Iterable[str]
    ) -> Batches[AttributeBatch] | Batches[CohortImportBatch]:
        if cohort.method == "attribute":
            assert cohort.attribute is not None
            return attribute_batches(
                ids,
                attribute=cohort.attribute,
                value=cohort.remote_id,
                action=op,
                identifier=cohort.identifier,
                # a removal must never create a profile
                update_existing_only=cohort.update_existing_only or op == "remove",
                alias_label=cohort.alias_label,
                max_objects=cohort.batch_size,
            )
        return cohort_import_batches(
            ids,
            partner=cohort.partner,
            cohort_id=cohort.remote_id,
            action=op,
            identifier=cohort.identifier,
            alias_label=cohort.alias_label,
        )

    def send(self, batch: AttributeBatch | CohortImportBatch) -> SentBatch:
        if isinstance(batch, AttributeBatch):
            return self.client.track_attributes(batch)
        assert self._secrets is not None
        return self.client.cohort_import(
            batch,
            partner_api_key=self._secrets[0],
            client_secret=self._secrets[1],
            partner_api_key_hint=self._hints[0],
            client_secret_hint=self._hints[1],
        )
