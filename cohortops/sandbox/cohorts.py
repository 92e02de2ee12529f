"""Partner Cohort Import API: body authentication, validation, and the cohort registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cohortops.sandbox.config import SandboxConfig


class PartnerRejected(Exception):
    """The request fails as a whole with this status and a ``{"message": ...}`` body."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class CohortChange:
    user_ids: tuple[str, ...]
    device_ids: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]  # (alias_label, alias_name)
    should_remove: bool


@dataclass(slots=True)
class Cohort:
    partner: str
    cohort_id: str
    name: str
    created_at: str
    members: set[Any] = field(default_factory=set)  # uids (full model) or identifier keys (sink)


def _bad(message: str) -> PartnerRejected:
    return PartnerRejected(400, message)


def check_auth(body: Any, partner: str, config: SandboxConfig) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object.")
    # Messages never echo the submitted values: they are secrets.
    if body.get("partner_api_key") not in config.partner_api_keys:
        raise PartnerRejected(401, "Invalid partner_api_key.")
    if body.get("client_secret") not in config.client_secrets:
        raise PartnerRejected(401, "Invalid client_secret.")
    if config.partners is not None and partner not in config.partners:
        raise PartnerRejected(401, "Partner is not enabled for this client_secret.")
    return body


def _cohort_id(body: dict[str, Any]) -> str:
    value = body.get("cohort_id")
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise _bad("Invalid cohort_id: a non-empty string of at most 255 characters is required.")
    return value


def parse_upsert(body: dict[str, Any]) -> tuple[str, str, str]:
    """(cohort_id, name, created_at) of a create-or-rename call."""
    cohort_id = _cohort_id(body)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _bad("Invalid name: a non-empty string is required.")
    created_at = body.get("created_at")
    if not isinstance(created_at, str):
        raise _bad("Invalid created_at: an ISO-8601 timestamp is required.")
    try:
        datetime.fromisoformat(created_at)
    except ValueError:
        raise _bad("Invalid created_at: an ISO-8601 timestamp is required.") from None
    return cohort_id, name, created_at


def _strings(entry: dict[str, Any], key: str) -> tuple[str, ...]:
    values = entry.get(key)
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise _bad(f"Malformed cohort_changes: '{key}' must be an array of non-empty strings.")
    return tuple(values)


def _aliases(entry: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    values = entry.get("aliases")
    if values is None:
        return ()
    if not isinstance(values, list):
        raise _bad("Malformed cohort_changes: 'aliases' must be an array.")
    out = []
    for alias in values:
        if not isinstance(alias, dict):
            raise _bad("Malformed cohort_changes: each alias must be an object.")
        name, label = alias.get("alias_name"), alias.get("alias_label")
        if not (isinstance(name, str) and name and isinstance(label, str) and label):
            raise _bad("Malformed cohort_changes: aliases need alias_name and alias_label.")
        out.append((label, name))
    return tuple(out)


def parse_changes(body: dict[str, Any], config: SandboxConfig) -> tuple[str, list[CohortChange]]:
    cohort_id = _cohort_id(body)
    raw = body.get("cohort_changes")
    if not isinstance(raw, list):
        raise _bad("Malformed cohort_changes: an array of change objects is required.")
    changes = []
    total = 0
    for entry in raw:
        if not isinstance(entry, dict):
            raise _bad("Malformed cohort_changes: each change must be an object.")
        remove = entry.get("should_remove", False)
        if not isinstance(remove, bool):
            raise _bad("Malformed cohort_changes: 'should_remove' must be a boolean.")
        change = CohortChange(
            _strings(entry, "user_ids"), _strings(entry, "device_ids"), _aliases(entry), remove
        )
        total += len(change.user_ids) + len(change.device_ids) + len(change.aliases)
        changes.append(change)
    if total > config.max_ids_per_cohort_request:
        raise _bad(
            f"Too many identifiers: at most {config.max_ids_per_cohort_request} user_ids, "
            "device_ids and aliases combined per request."
        )
    return cohort_id, changes


class CohortRegistry:
    def __init__(self) -> None:
        self.cohorts: dict[tuple[str, str], Cohort] = {}

    def upsert(self, partner: str, cohort_id: str, name: str, created_at: str) -> Cohort:
        cohort = self.cohorts.get((partner, cohort_id))
        if cohort is None:
            cohort = Cohort(partner, cohort_id, name, created_at)
            self.cohorts[(partner, cohort_id)] = cohort
        else:
            cohort.name = name  # a rename keeps the original creation time
        return cohort

    def get(self, partner: str, cohort_id: str) -> Cohort:
        cohort = self.cohorts.get((partner, cohort_id))
        if cohort is None:
            raise _bad("Invalid cohort_id: no cohort with this id; create it first.")
        return cohort

    def discard_member(self, member: Any) -> None:
        for cohort in self.cohorts.values():
            cohort.members.discard(member)
