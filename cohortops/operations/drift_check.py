"""`cohortops drift`: compare what the state claims with what Braze actually holds.

Braze can disagree with the state without any error: cohort import skips users it does not know,
an array attribute silently drops its oldest value when full, and anyone with dashboard access can
edit a profile. Drift looks the recorded members up with /users/export/ids (50 per request, at
Braze's export rate) and reports members Braze does not know and, for attribute delivery,
members whose array no longer holds the cohort's value.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cohortops.apply.remote import make_client
from cohortops.braze import BrazeClient
from cohortops.config.model import Config
from cohortops.errors import CohortopsError
from cohortops.state import Store

SHOWN = 10


@dataclass(frozen=True)
class CohortDrift:
    cohort_id: str
    checked: int
    recorded: int
    unknown: tuple[str, ...]
    missing_value: tuple[str, ...]
    skipped_reason: str | None = None
    method: str | None = None  # the delivery method: "attribute" or "cohort_import"

    @property
    def drifted(self) -> bool:
        return bool(self.unknown or self.missing_value)


def _sample(store: Store, cohort_id: str, size: int | None, seed: int) -> list[str]:
    members = store.members_iter(cohort_id)
    if size is None:
        return list(members)
    rng = random.Random(seed)  # reservoir sampling: one pass, bounded memory
    sample: list[str] = []
    for i, member in enumerate(members):
        if i < size:
            sample.append(member)
        else:
            j = rng.randint(0, i)
            if j < size:
                sample[j] = member
    return sorted(sample)


def _lookup(
    client: BrazeClient, settings: Mapping[str, Any], members: list[str]
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    identifier = settings.get("identifier")
    fields = ("external_id", "user_aliases", "custom_attributes")
    if identifier == "user_alias":
        label = str(settings.get("alias_label"))
        aliases = [{"alias_name": m, "alias_label": label} for m in members]
        result = client.export_ids(user_aliases=aliases, fields_to_export=fields)
    else:
        result = client.export_ids(external_ids=members, fields_to_export=fields)
    return [dict(u) for u in result.users], tuple(result.invalid_user_ids)


def _key(user: Mapping[str, Any], settings: Mapping[str, Any]) -> str | None:
    if settings.get("identifier") == "user_alias":
        for alias in user.get("user_aliases") or ():
            if alias.get("alias_label") == settings.get("alias_label"):
                return str(alias.get("alias_name"))
        return None
    value = user.get("external_id")
    return str(value) if value is not None else None


def check_cohort(
    store: Store, config: Config, cohort_id: str, *, sample: int | None, seed: int = 0
) -> CohortDrift:
    record = store.snapshot().cohorts.get(cohort_id)
    if record is None:
        raise CohortopsError(f"Cohort '{cohort_id}' is not in the state; nothing to compare.")
    settings = record.settings
    if settings.get("identifier") == "device_id":
        return CohortDrift(
            cohort_id, 0, record.member_count, (), (), "device ids cannot be exported in bulk"
        )
    destination = config.destinations.get(str(settings.get("destination")))
    if destination is None:
        return CohortDrift(
            cohort_id, 0, record.member_count, (), (), "destination no longer declared"
        )
    if destination.kind == "lytics":
        return CohortDrift(
            cohort_id, 0, record.member_count, (), (), "Lytics profiles cannot be read back here"
        )
    members = _sample(store, cohort_id, sample, seed)
    with make_client(destination) as client:
        users, unknown = _lookup(client, settings, members)
    missing: list[str] = []
    delivery = settings.get("delivery") or {}
    if delivery.get("method") == "attribute":
        attribute = str(delivery.get("attribute"))
        remote_id = str(settings.get("remote_id", cohort_id))
        for user in users:
            values = (user.get("custom_attributes") or {}).get(attribute) or []
            key = _key(user, settings)
            if key is not None and remote_id not in values:
                missing.append(key)
    if settings.get("backfill_existing") is False:
        # Baseline members never received the value: their absence is not drift.
        from cohortops.operations.drift_segment import unsent_baseline

        unsent = unsent_baseline(store, cohort_id)
        unknown = tuple(m for m in unknown if m not in unsent)
        missing = [m for m in missing if m not in unsent]
    return CohortDrift(
        cohort_id,
        len(members),
        record.member_count,
        unknown,
        tuple(sorted(missing)),
        method=str(delivery.get("method")) if delivery.get("method") else None,
    )


def drift_lines(results: list[CohortDrift]) -> Iterator[str]:
    for r in results:
        if r.skipped_reason:
            yield f"  {r.cohort_id}: not checked ({r.skipped_reason})"
            continue
        scope = "all" if r.checked == r.recorded else f"a sample of {r.checked:,} of {r.recorded:,}"
        if not r.drifted:
            yield f"  {r.cohort_id}: no drift ({scope} recorded members checked)"
            continue
        yield f"  {r.cohort_id}: drift in {scope} recorded members"
        if r.unknown:
            shown = ", ".join(r.unknown[:SHOWN])
            why = (
                "cohort import skips them"
                if r.method == "cohort_import"
                else "the attribute was never set on them"
            )
            yield f"    {len(r.unknown):,} unknown to Braze ({why}): {shown}"
        if r.missing_value:
            shown = ", ".join(r.missing_value[:SHOWN])
            yield (
                f"    {len(r.missing_value):,} no longer hold the cohort's value (array full or "
                f"edited outside cohortops): {shown}"
            )


def drift_rows(results: list[CohortDrift]) -> list[dict[str, Any]]:
    """The rows :func:`drift_json` serializes."""
    return [
        {
            "cohort_id": r.cohort_id,
            "method": r.method,
            "checked": r.checked,
            "recorded": r.recorded,
            "drifted": r.drifted,
            "unknown": list(r.unknown),
            "missing_value": list(r.missing_value),
            "skipped_reason": r.skipped_reason,
            "missing_count": len(r.unknown) + len(r.missing_value),
            "not_recorded_count": None,  # a sample looks up recorded members only
        }
        for r in results
    ]


def drift_json(results: list[CohortDrift]) -> str:
    """Documented keys: cohort_id, method, checked, recorded, drifted, unknown, missing_value,
    skipped_reason (why a cohort was not checked, else null), missing_count, not_recorded_count
    (null: a sample cannot see members Braze holds that the state does not record)."""
    return json.dumps(drift_rows(results), indent=2)
