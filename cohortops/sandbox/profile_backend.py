"""The full model backend: real profiles, Braze's array semantics, export lag."""

from __future__ import annotations

from typing import Any

from cohortops.sandbox.attributes import apply_op
from cohortops.sandbox.backend import (
    CohortStats,
    WriteStats,
    cohort_header,
    dump_cohorts,
    load_cohorts,
)
from cohortops.sandbox.cohorts import Cohort, CohortChange, CohortRegistry
from cohortops.sandbox.config import SandboxConfig
from cohortops.sandbox.seeds import Seed
from cohortops.sandbox.store import User, UserStore
from cohortops.sandbox.track import TrackObject
from cohortops.sandbox.users_api import AliasRequest, DeleteRequest, ExportQuery


class FullBackend:
    mode = "full"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = UserStore(config.seed)
        self.cohorts = CohortRegistry()
        # Sandbox._apply_settings updates this when POST /_sandbox/faults changes it.
        self.export_delay = config.export_delay_ms / 1000.0

    # /users/track -----------------------------------------------------------------------
    def _resolve(self, kind: str, ident: Any) -> User | None:
        store = self.store
        if kind == "external_id":
            return store.by_external_id(ident)
        if kind == "user_alias":
            return store.by_alias.get(ident)
        if kind == "braze_id":
            return store.by_braze_id(ident)
        return store.by_email.get(ident)

    def _create(self, kind: str, ident: Any) -> User:
        store = self.store
        user = store.new_user()
        if kind == "external_id":
            store.set_external_id(user, ident)
        elif kind == "user_alias":
            store.add_alias(user, ident[0], ident[1])
        else:
            store.set_email(user, ident)
        return user

    def _before_write(self, user: User, existed: bool, now: float) -> None:
        """Keep what export may still show: the profile as it was before this burst of writes."""
        shadow = user.shadow
        if shadow is None or shadow[0] <= now:
            snapshot = self.store.describe(user) if existed else None
        else:
            snapshot = shadow[1]
        user.shadow = (now + self.export_delay, snapshot)

    def apply_track(self, objects: list[TrackObject], now: float) -> WriteStats:
        stats = WriteStats()
        limits = self.config.array_length_overrides
        default_limit = self.config.max_array_length
        lagging = self.export_delay > 0
        for obj in objects:
            user = self._resolve(obj.kind, obj.ident)
            existed = user is not None
            if user is None:
                if obj.update_existing_only or obj.kind == "braze_id":
                    stats.dropped += 1
                    continue
                user = self._create(obj.kind, obj.ident)
                stats.created += 1
            if lagging:
                self._before_write(user, existed, now)
            if obj.email is not None:
                stats.data_points += 1
                if user.email != obj.email:
                    self.store.set_email(user, obj.email)
                    stats.changes += 1
            if not obj.ops:
                continue
            attrs = user.attrs
            if attrs is None:
                attrs = user.attrs = {}
            for key, op in obj.ops:
                stats.data_points += 1
                if apply_op(attrs, key, op, limits.get(key, default_limit)):
                    stats.changes += 1
        return stats

    # partner cohorts ----------------------------------------------------------------------
    def apply_cohort(self, cohort: Cohort, changes: list[CohortChange]) -> CohortStats:
        stats = CohortStats()
        store = self.store
        for change in changes:
            uids = []
            for external_id in change.user_ids:
                uid = store.uid_of_external_id(external_id)
                if uid is not None:
                    uids.append(uid)
            for alias in change.aliases:
                user = store.by_alias.get(alias)
                if user is not None:
                    uids.append(user.uid)
            for device_id in change.device_ids:
                user = store.by_device.get(device_id)
                # A device id of an identified user is ignored: neither added nor removed.
                if user is not None and user.external_id is None:
                    uids.append(user.uid)
            stats.apply(cohort, change, uids)
        return stats

    # /users/export/ids, alias/new, delete --------------------------------------------------
    def _visible(self, user: User | None, now: float) -> dict[str, Any] | None:
        if user is None:
            return None
        shadow = user.shadow
        if shadow is not None:
            if shadow[0] > now:
                return shadow[1]
            user.shadow = None
        return self.store.describe(user)

    def export(self, query: ExportQuery, now: float) -> tuple[list[dict[str, Any]], list[str]]:
        store = self.store
        found: list[dict[str, Any]] = []
        invalid: list[str] = []
        lookups: list[tuple[str, User | None]] = [
            (e, store.by_external_id(e)) for e in query.external_ids
        ]
        lookups += [(name, store.by_alias.get((label, name))) for label, name in query.aliases]
        if query.device_id is not None:
            lookups.append((query.device_id, store.by_device.get(query.device_id)))
        if query.braze_id is not None:
            lookups.append((query.braze_id, store.by_braze_id(query.braze_id)))
        if query.email is not None:
            lookups.append((query.email, store.by_email.get(query.email)))
        seen: set[str] = set()
        for ident, user in lookups:
            view = self._visible(user, now)
            if view is None:
                invalid.append(ident)
            elif view["braze_id"] not in seen:
                seen.add(view["braze_id"])
                found.append(_project(view, query.fields))
        return found, invalid

    def alias_new(self, requests: list[AliasRequest], now: float) -> int:
        store = self.store
        processed = 0
        for request in requests:
            if request.external_id is not None:
                user = store.by_external_id(request.external_id)
                if user is None:
                    continue
                existed = True
            else:
                if (request.label, request.name) in store.by_alias:
                    continue
                user = store.new_user()
                existed = False
            if self.export_delay > 0:
                self._before_write(user, existed, now)
            if store.add_alias(user, request.label, request.name):
                processed += 1
        return processed

    def delete(self, request: DeleteRequest) -> int:
        store = self.store
        users = [store.by_external_id(e) for e in request.external_ids]
        users += [store.by_alias.get(a) for a in request.aliases]
        users += [store.by_braze_id(b) for b in request.braze_ids]
        targets = {u.uid: u for u in users if u is not None}
        for user in targets.values():
            store.delete(user)
            self.cohorts.discard_member(user.uid)
        return len(targets)

    # seeding and views ---------------------------------------------------------------------
    def seed(self, seed: Seed) -> int:
        count = sum(self.store.seed_external_ids(ids) for ids in seed.external_ids)
        for record in seed.records:
            self.store.seed_one(record)
            count += 1
        return count

    def user_count(self) -> int:
        return len(self.store.users)

    def state(self, include_users: bool) -> dict[str, Any]:
        store = self.store
        cohorts = []
        for cohort in self.cohorts.cohorts.values():
            external_ids = (store.external_id_of(uid) for uid in cohort.members)
            cohorts.append(
                {
                    **cohort_header(cohort),
                    "members": sorted(store.braze_id(uid) for uid in cohort.members),
                    "member_external_ids": sorted(e for e in external_ids if e is not None),
                }
            )
        users = list(store.describe_all()) if include_users else []
        return {
            "mode": self.mode,
            "user_count": len(store.users),
            "users": users,
            "cohorts": cohorts,
        }

    def dump(self) -> dict[str, Any]:
        return {"store": self.store.dump(), "cohorts": dump_cohorts(self.cohorts)}

    def load(self, data: dict[str, Any]) -> None:
        self.store.load(data["store"])
        load_cohorts(self.cohorts, data["cohorts"])


def _project(view: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("external_id", "user_aliases", "braze_id", "email", "custom_attributes"):
        if name in fields and name in view:
            out[name] = view[name]
    if "devices" in fields:
        out["devices"] = [{"device_id": d} for d in view["device_ids"]]
    return out
