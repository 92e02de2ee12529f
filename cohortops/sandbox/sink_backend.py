"""Sink mode: same validation, limits and counters, but only compact membership sets.

Users are identifier keys (the external id itself, ``alias:<label>:<name>``, ``braze:<id>`` or
``email:<address>``). Array attributes are kept as ``attribute -> value -> set of keys`` with no
order, so there is no overflow and no move-to-end; cohort import still affects known users only.
"""

from __future__ import annotations

from typing import Any

from cohortops.sandbox.backend import CohortStats, WriteStats, dump_cohorts, load_cohorts
from cohortops.sandbox.cohorts import Cohort, CohortChange, CohortRegistry
from cohortops.sandbox.seeds import Seed
from cohortops.sandbox.track import TrackObject
from cohortops.sandbox.users_api import AliasRequest, DeleteRequest, ExportQuery


def alias_key(label: str, name: str) -> str:
    return f"alias:{label}:{name}"


def ident_key(kind: str, ident: Any) -> str:
    if kind == "external_id":
        return str(ident)
    if kind == "user_alias":
        return alias_key(ident[0], ident[1])
    return f"{'braze' if kind == 'braze_id' else 'email'}:{ident}"


class SinkBackend:
    mode = "sink"

    def __init__(self) -> None:
        self.known: set[str] = set()
        self.anonymous_devices: set[str] = set()
        self.members: dict[str, dict[Any, set[str]]] = {}
        self.cohorts = CohortRegistry()

    def apply_track(self, objects: list[TrackObject], now: float) -> WriteStats:
        stats = WriteStats()
        known = self.known
        for obj in objects:
            key = ident_key(obj.kind, obj.ident)
            if key not in known:
                if obj.update_existing_only or obj.kind == "braze_id":
                    stats.dropped += 1
                    continue
                known.add(key)
                stats.created += 1
            stats.data_points += len(obj.ops) + (obj.email is not None)
            for attribute, op in obj.ops:
                if op[0] == "array":
                    stats.changes += self._array(attribute, key, op[1], op[2])
                elif op[0] == "set" and isinstance(op[1], list):
                    stats.changes += self._array(attribute, key, op[1], None)
        return stats

    def _array(self, attribute: str, key: str, add: list[Any], remove: list[Any] | None) -> int:
        values = self.members.setdefault(attribute, {})
        changed = 0
        # remove=None means "set": the key leaves every value not in ``add``.
        drop = [v for v in values if v not in add] if remove is None else remove
        for value in drop:
            holders = values.get(value)
            if holders is not None and key in holders:
                holders.discard(key)
                changed = 1
        for value in add:
            holders = values.setdefault(value, set())
            if key not in holders:
                holders.add(key)
                changed = 1
        return changed

    def apply_cohort(self, cohort: Cohort, changes: list[CohortChange]) -> CohortStats:
        stats = CohortStats()
        for change in changes:
            keys = [u for u in change.user_ids if u in self.known]
            keys += [k for a in change.aliases if (k := alias_key(*a)) in self.known]
            keys += [f"device:{d}" for d in change.device_ids if d in self.anonymous_devices]
            stats.apply(cohort, change, keys)
        return stats

    def _attributes_of(self, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attribute, values in self.members.items():
            held = sorted((v for v, holders in values.items() if key in holders), key=str)
            if held:
                out[attribute] = held
        return out

    def export(self, query: ExportQuery, now: float) -> tuple[list[dict[str, Any]], list[str]]:
        found: list[dict[str, Any]] = []
        invalid: list[str] = []
        candidates = [(e, e) for e in query.external_ids]
        candidates += [(name, alias_key(label, name)) for label, name in query.aliases]
        if query.braze_id is not None:
            candidates.append((query.braze_id, f"braze:{query.braze_id}"))
        if query.email is not None:
            candidates.append((query.email, f"email:{query.email}"))
        if query.device_id is not None:
            candidates.append((query.device_id, f"device:{query.device_id}"))
        for ident, key in candidates:
            if key not in self.known:
                invalid.append(ident)
                continue
            user: dict[str, Any] = {}
            if "external_id" in query.fields and key == ident and ident in query.external_ids:
                user["external_id"] = ident
            if "custom_attributes" in query.fields:
                user["custom_attributes"] = self._attributes_of(key)
            found.append(user)
        return found, invalid

    def alias_new(self, requests: list[AliasRequest], now: float) -> int:
        for request in requests:
            self.known.add(alias_key(request.label, request.name))
        return len(requests)

    def _forget(self, key: str) -> bool:
        if key not in self.known:
            return False
        self.known.discard(key)
        for values in self.members.values():
            for holders in values.values():
                holders.discard(key)
        self.cohorts.discard_member(key)
        return True

    def delete(self, request: DeleteRequest) -> int:
        keys = list(request.external_ids) + [alias_key(*a) for a in request.aliases]
        keys += [f"braze:{b}" for b in request.braze_ids]
        return sum(self._forget(k) for k in set(keys))

    def seed(self, seed: Seed) -> int:
        count = 0
        for ids in seed.external_ids:
            before = len(self.known)
            self.known.update(ids)
            count += len(self.known) - before
        for record in seed.records:
            keys = [record["external_id"]] if "external_id" in record else []
            keys += [alias_key(*a) for a in record.get("aliases", ())]
            if "email" in record:
                keys.append(f"email:{record['email']}")
            if not keys:
                self.anonymous_devices.update(record.get("device_ids", ()))
                keys = [f"device:{d}" for d in record.get("device_ids", ())]
            self.known.update(keys)
            for attribute, value in (record.get("attributes") or {}).items():
                if isinstance(value, list):
                    self._array(attribute, keys[0], list(dict.fromkeys(value)), None)
            count += 1
        return count

    def user_count(self) -> int:
        return len(self.known)

    def state(self, include_users: bool) -> dict[str, Any]:
        attributes = {
            attribute: {str(v): sorted(holders) for v, holders in values.items() if holders}
            for attribute, values in self.members.items()
        }
        return {
            "mode": self.mode,
            "user_count": len(self.known),
            "users": [],
            "attribute_members": attributes,
            "cohorts": dump_cohorts(self.cohorts),
        }

    def dump(self) -> dict[str, Any]:
        return {
            "known": sorted(self.known),
            "anonymous_devices": sorted(self.anonymous_devices),
            "members": [
                [attribute, value, sorted(holders)]
                for attribute, values in self.members.items()
                for value, holders in values.items()
            ],
            "cohorts": dump_cohorts(self.cohorts),
        }

    def load(self, data: dict[str, Any]) -> None:
        self.known.update(data["known"])
        self.anonymous_devices.update(data["anonymous_devices"])
        for attribute, value, holders in data["members"]:
            self.members.setdefault(attribute, {}).setdefault(value, set()).update(holders)
        load_cohorts(self.cohorts, data["cohorts"])
