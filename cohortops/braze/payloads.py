"""JSON request bodies for the Braze endpoints cohortops calls (serialised with orjson)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import orjson

from cohortops.braze.requests import AttributeBatch, CohortImportBatch

_COHORT_ID_KEYS = {"external_id": "user_ids", "device_id": "device_ids", "user_alias": "aliases"}


def track_object(batch: AttributeBatch, member_id: str) -> dict[str, object]:
    """The ``attributes[]`` object for one member of ``batch``."""
    ident: object = member_id
    if batch.identifier == "user_alias":
        ident = {"alias_name": member_id, "alias_label": batch.alias_label}
    return {
        batch.identifier: ident,
        "_update_existing_only": batch.update_existing_only,
        batch.attribute: {batch.action: [batch.value]},
    }


def track_body(batch: AttributeBatch) -> bytes:
    """``/users/track`` body: one attributes object per id, in batch order."""
    operation = {batch.action: [batch.value]}
    flag = batch.update_existing_only
    attribute = batch.attribute
    if batch.identifier == "user_alias":
        label = batch.alias_label
        objects = [
            {
                "user_alias": {"alias_name": member_id, "alias_label": label},
                "_update_existing_only": flag,
                attribute: operation,
            }
            for member_id in batch.ids
        ]
    else:
        key = batch.identifier
        objects = [
            {key: member_id, "_update_existing_only": flag, attribute: operation}
            for member_id in batch.ids
        ]
    return orjson.dumps({"attributes": objects})


def cohort_users_body(batch: CohortImportBatch, partner_api_key: str, client_secret: str) -> bytes:
    """``/partners/{partner}/cohorts/users`` body: one change with one identifier key."""
    key = _COHORT_ID_KEYS[batch.identifier]
    ids: list[object]
    if batch.identifier == "user_alias":
        ids = [{"alias_name": i, "alias_label": batch.alias_label} for i in batch.ids]
    else:
        ids = list(batch.ids)
    change = {key: ids, "should_remove": batch.action == "remove"}
    return orjson.dumps(
        {
            "partner_api_key": partner_api_key,
            "client_secret": client_secret,
            "cohort_id": batch.cohort_id,
            "cohort_changes": [change],
        }
    )


def iso8601(moment: datetime) -> str:
    """ISO-8601 with an explicit offset; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def cohort_body(
    cohort_id: str, name: str, created_at: datetime, partner_api_key: str, client_secret: str
) -> bytes:
    """``/partners/{partner}/cohorts`` body (create, or rename when the id exists)."""
    return orjson.dumps(
        {
            "partner_api_key": partner_api_key,
            "client_secret": client_secret,
            "cohort_id": cohort_id,
            "name": name,
            "created_at": iso8601(created_at),
        }
    )


def export_body(
    *,
    external_ids: Sequence[str] = (),
    user_aliases: Sequence[Mapping[str, str]] = (),
    fields_to_export: Sequence[str],
) -> bytes:
    """``/users/export/ids`` body; callers keep each request at 50 identifiers or fewer."""
    body: dict[str, object] = {"fields_to_export": list(fields_to_export)}
    if external_ids:
        body["external_ids"] = list(external_ids)
    if user_aliases:
        body["user_aliases"] = [
            {"alias_name": a["alias_name"], "alias_label": a["alias_label"]} for a in user_aliases
        ]
    return orjson.dumps(body)
