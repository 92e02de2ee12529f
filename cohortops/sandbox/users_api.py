"""Validation of /users/export/ids, /users/alias/new and /users/delete request bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cohortops.sandbox.config import SandboxConfig


class RequestRejected(Exception):
    """The request fails as a whole: status 400 with a ``{"message": ...}`` body."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ExportQuery:
    external_ids: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()  # (alias_label, alias_name)
    device_id: str | None = None
    braze_id: str | None = None
    email: str | None = None
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AliasRequest:
    external_id: str | None
    label: str
    name: str


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestRejected("Request body must be a JSON object.")
    return body


def _id_list(body: dict[str, Any], key: str, limit: int) -> tuple[str, ...]:
    values = body.get(key)
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise RequestRejected(f"'{key}' must be an array of non-empty strings.")
    if len(values) > limit:
        raise RequestRejected(f"'{key}' holds {len(values)} items; the limit is {limit}.")
    return tuple(values)


def _alias(raw: Any, key: str) -> tuple[str, str]:
    if not isinstance(raw, dict):
        raise RequestRejected(f"'{key}' entries must be objects with alias_name and alias_label.")
    name, label = raw.get("alias_name"), raw.get("alias_label")
    if not (isinstance(name, str) and name and isinstance(label, str) and label):
        raise RequestRejected(f"'{key}' entries need non-empty alias_name and alias_label.")
    return label, name


def _alias_list(body: dict[str, Any], key: str, limit: int) -> tuple[tuple[str, str], ...]:
    values = body.get(key)
    if values is None:
        return ()
    if not isinstance(values, list):
        raise RequestRejected(f"'{key}' must be an array.")
    if len(values) > limit:
        raise RequestRejected(f"'{key}' holds {len(values)} items; the limit is {limit}.")
    return tuple(_alias(raw, key) for raw in values)


def _single(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise RequestRejected(f"'{key}' must be a non-empty string.")
    return value


def parse_export(body: Any, config: SandboxConfig) -> ExportQuery:
    body = _object(body)
    fields = body.get("fields_to_export")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise RequestRejected("'fields_to_export' is required: a non-empty array of field names.")
    limit = config.max_ids_per_export
    query = ExportQuery(
        external_ids=_id_list(body, "external_ids", limit),
        aliases=_alias_list(body, "user_aliases", limit),
        device_id=_single(body, "device_id"),
        braze_id=_single(body, "braze_id"),
        email=_single(body, "email_address"),
        fields=frozenset(fields),
    )
    if not (
        query.external_ids or query.aliases or query.device_id or query.braze_id or query.email
    ):
        raise RequestRejected(
            "Name the users to export: external_ids, user_aliases, device_id, braze_id "
            "or email_address."
        )
    return query


def parse_alias_new(body: Any, config: SandboxConfig) -> list[AliasRequest]:
    body = _object(body)
    raw = body.get("user_aliases")
    if not isinstance(raw, list) or not raw:
        raise RequestRejected("'user_aliases' must be a non-empty array.")
    if len(raw) > config.max_ids_per_export:
        raise RequestRejected(
            f"'user_aliases' holds {len(raw)} items; the limit is {config.max_ids_per_export}."
        )
    out = []
    for entry in raw:
        label, name = _alias(entry, "user_aliases")
        external_id = entry.get("external_id")
        if external_id is not None and (not isinstance(external_id, str) or not external_id):
            raise RequestRejected("'external_id' must be a non-empty string.")
        out.append(AliasRequest(external_id, label, name))
    return out


@dataclass(frozen=True, slots=True)
class DeleteRequest:
    external_ids: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]
    braze_ids: tuple[str, ...]


def parse_delete(body: Any, config: SandboxConfig) -> DeleteRequest:
    body = _object(body)
    limit = config.max_ids_per_export
    request = DeleteRequest(
        _id_list(body, "external_ids", limit),
        _alias_list(body, "user_aliases", limit),
        _id_list(body, "braze_ids", limit),
    )
    if not (request.external_ids or request.aliases or request.braze_ids):
        raise RequestRejected("Name the users to delete: external_ids, user_aliases or braze_ids.")
    return request
