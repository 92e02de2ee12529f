"""The full user model: profiles with O(1) indexes by every identifier.

Braze ids are derived from a per-seed prefix and a sequential number, so they are reproducible and
need no index of their own: the number is parsed back out of the id.

Bulk-seeded users that have nothing but an external id are kept "bare" (the uid in
``by_external``, the external id in ``users``) and become ``User`` objects on first use: a
million of them seed in well under a second and take a third of the memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from cohortops.sandbox.attributes import copy_value

Alias = tuple[str, str]  # (alias_label, alias_name)


class User:
    """One profile. Optional parts stay None until used, to keep many profiles small."""

    __slots__ = ("aliases", "attrs", "device_ids", "email", "external_id", "shadow", "uid")

    def __init__(self, uid: int, external_id: str | None = None) -> None:
        self.uid = uid
        self.external_id = external_id
        self.aliases: dict[str, str] | None = None  # label -> name
        self.device_ids: list[str] | None = None
        self.email: str | None = None
        self.attrs: dict[str, Any] | None = None
        # (visible_after, snapshot or None when the profile was not visible yet); export lag only
        self.shadow: tuple[float, dict[str, Any] | None] | None = None


class UserStore:
    def __init__(self, seed: int) -> None:
        self.prefix = hashlib.sha256(f"cohortops-sandbox:{seed}".encode()).hexdigest()[:8]
        self.users: dict[int, User | str] = {}  # str: a bare user's external id
        self.by_external: dict[str, User | int] = {}  # int: a bare user's uid
        self.by_alias: dict[Alias, User] = {}
        self.by_device: dict[str, User] = {}
        self.by_email: dict[str, User] = {}
        self.next_uid = 1

    # lookups ----------------------------------------------------------------------------
    def _materialise(self, uid: int, external_id: str) -> User:
        user = User(uid, external_id)
        self.users[uid] = user
        self.by_external[external_id] = user
        return user

    def get(self, uid: int) -> User | None:
        found = self.users.get(uid)
        if found is None or isinstance(found, User):
            return found
        return self._materialise(uid, found)

    def by_external_id(self, external_id: str) -> User | None:
        found = self.by_external.get(external_id)
        if found is None or isinstance(found, User):
            return found
        return self._materialise(found, external_id)

    def uid_of_external_id(self, external_id: str) -> int | None:
        """The uid without turning a bare user into an object (cohort import needs no more)."""
        found = self.by_external.get(external_id)
        if found is None or isinstance(found, int):
            return found
        return found.uid

    def external_id_of(self, uid: int) -> str | None:
        found = self.users.get(uid)
        if found is None or isinstance(found, str):
            return found
        return found.external_id

    def braze_id(self, uid: int) -> str:
        return f"{self.prefix}{uid:016x}"

    def by_braze_id(self, braze_id: str) -> User | None:
        if len(braze_id) != 24 or not braze_id.startswith(self.prefix):
            return None
        try:
            uid = int(braze_id[8:], 16)
        except ValueError:
            return None
        return self.get(uid)

    # writes -----------------------------------------------------------------------------
    def new_user(self) -> User:
        user = User(self.next_uid)
        self.next_uid += 1
        self.users[user.uid] = user
        return user

    def set_external_id(self, user: User, external_id: str) -> None:
        if user.external_id is not None:
            self.by_external.pop(user.external_id, None)
        user.external_id = external_id
        self.by_external[external_id] = user

    def add_alias(self, user: User, label: str, name: str) -> bool:
        """Give ``user`` the alias; False when another profile already holds it."""
        holder = self.by_alias.get((label, name))
        if holder is not None:
            return holder is user
        if user.aliases is None:
            user.aliases = {}
        old = user.aliases.get(label)
        if old is not None:
            self.by_alias.pop((label, old), None)
        user.aliases[label] = name
        self.by_alias[(label, name)] = user
        return True

    def add_device(self, user: User, device_id: str) -> None:
        if device_id in self.by_device:
            return
        if user.device_ids is None:
            user.device_ids = []
        user.device_ids.append(device_id)
        self.by_device[device_id] = user

    def set_email(self, user: User, email: str | None) -> None:
        if user.email is not None and self.by_email.get(user.email) is user:
            del self.by_email[user.email]
        user.email = email
        if email is not None:
            # Braze picks the most recently updated match; the latest writer wins here.
            self.by_email[email] = user

    def delete(self, user: User) -> None:
        self.users.pop(user.uid, None)
        if user.external_id is not None:
            self.by_external.pop(user.external_id, None)
        for label, name in (user.aliases or {}).items():
            self.by_alias.pop((label, name), None)
        for device_id in user.device_ids or ():
            self.by_device.pop(device_id, None)
        self.set_email(user, None)

    # seeding ----------------------------------------------------------------------------
    def seed_external_ids(self, external_ids: Iterable[str]) -> int:
        """Bulk seed of bare users; ids already present are left alone."""
        by_external = self.by_external
        if by_external:
            fresh = [e for e in dict.fromkeys(external_ids) if e not in by_external]
        else:
            fresh = list(dict.fromkeys(external_ids))
        uids = range(self.next_uid, self.next_uid + len(fresh))
        by_external.update(zip(fresh, uids, strict=True))
        self.users.update(zip(uids, fresh, strict=True))
        self.next_uid += len(fresh)
        return len(fresh)

    def seed_one(self, record: dict[str, Any]) -> User:
        """Create or extend the profile named by a normalised seed record."""
        user = self._find_seed_target(record)
        if user is None:
            user = self.new_user()
        if record.get("external_id") is not None and user.external_id is None:
            self.set_external_id(user, record["external_id"])
        for label, name in record.get("aliases", ()):
            self.add_alias(user, label, name)
        for device_id in record.get("device_ids", ()):
            self.add_device(user, device_id)
        if record.get("email") is not None:
            self.set_email(user, record["email"])
        attrs = record.get("attributes")
        if attrs:
            if user.attrs is None:
                user.attrs = {}
            user.attrs.update(copy_value(attrs))
        return user

    def _find_seed_target(self, record: dict[str, Any]) -> User | None:
        external_id = record.get("external_id")
        if external_id is not None:
            user = self.by_external_id(external_id)
            if user is not None:
                return user
        for alias in record.get("aliases", ()):
            if alias in self.by_alias:
                return self.by_alias[alias]
        return None

    # views ------------------------------------------------------------------------------
    def describe(self, user: User) -> dict[str, Any]:
        out: dict[str, Any] = {"braze_id": self.braze_id(user.uid)}
        if user.external_id is not None:
            out["external_id"] = user.external_id
        out["user_aliases"] = [
            {"alias_name": name, "alias_label": label}
            for label, name in (user.aliases or {}).items()
        ]
        out["device_ids"] = list(user.device_ids or ())
        if user.email is not None:
            out["email"] = user.email
        out["custom_attributes"] = copy_value(user.attrs or {})
        return out

    def describe_all(self) -> Iterator[dict[str, Any]]:
        for uid, found in self.users.items():
            if isinstance(found, User):
                yield self.describe(found)
            else:
                yield {
                    "braze_id": self.braze_id(uid),
                    "external_id": found,
                    "user_aliases": [],
                    "device_ids": [],
                    "custom_attributes": {},
                }

    def dump(self) -> dict[str, Any]:
        users = []
        for uid, found in self.users.items():
            users.append(
                {"uid": uid, "external_id": found}
                if isinstance(found, str)
                else self._dump_user(found)
            )
        return {"prefix": self.prefix, "next_uid": self.next_uid, "users": users}

    @staticmethod
    def _dump_user(user: User) -> dict[str, Any]:
        out: dict[str, Any] = {"uid": user.uid}
        if user.external_id is not None:
            out["external_id"] = user.external_id
        if user.aliases:
            out["aliases"] = [[label, name] for label, name in user.aliases.items()]
        if user.device_ids:
            out["device_ids"] = user.device_ids
        if user.email is not None:
            out["email"] = user.email
        if user.attrs:
            out["attributes"] = user.attrs
        return out

    def load(self, data: dict[str, Any]) -> None:
        self.prefix = str(data["prefix"])
        for raw in data["users"]:
            uid = int(raw["uid"])
            if raw.keys() == {"uid", "external_id"}:
                self.users[uid] = raw["external_id"]
                self.by_external[raw["external_id"]] = uid
                continue
            user = User(uid)
            self.users[uid] = user
            if "external_id" in raw:
                self.set_external_id(user, str(raw["external_id"]))
            for label, name in raw.get("aliases", ()):
                self.add_alias(user, str(label), str(name))
            for device_id in raw.get("device_ids", ()):
                self.add_device(user, str(device_id))
            if "email" in raw:
                self.set_email(user, str(raw["email"]))
            if raw.get("attributes"):
                user.attrs = dict(raw["attributes"])
        self.next_uid = max(int(data["next_uid"]), max(self.users, default=0) + 1)
