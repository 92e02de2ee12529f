"""Who a segment holds right now, as exported JSON lines, for either sandbox backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from cohortops.sandbox.backend import Backend
from cohortops.sandbox.profile_backend import FullBackend
from cohortops.sandbox.segments import EXPORTABLE, Segment
from cohortops.sandbox.sink_backend import SinkBackend
from cohortops.sandbox.store import User


def _holds(attrs: dict[str, Any] | None, name: str, value: Any) -> bool:
    if not attrs or name not in attrs:
        return False
    held = attrs[name]
    return value in held if isinstance(held, list) else held == value


def _full_lines(backend: FullBackend, segment: Segment, fields: set[str]) -> Iterator[bytes]:
    store = backend.store
    f = segment.filter
    if f.attribute is not None:
        # Bare users have no attributes, so only materialised profiles can match.
        users: Iterator[User] = (
            u
            for u in store.users.values()
            if isinstance(u, User) and _holds(u.attrs, f.attribute, f.value)
        )
    else:
        cohort = backend.cohorts.cohorts.get((f.partner or "", f.cohort_id or ""))
        uids = sorted(cohort.members) if cohort is not None else []
        users = (u for uid in uids if (u := store.get(uid)) is not None)
    for user in users:
        view = store.describe(user)
        yield orjson.dumps({k: view[k] for k in EXPORTABLE if k in fields and k in view})


def _sink_key_line(key: str, fields: set[str]) -> bytes:
    out: dict[str, Any] = {}
    if key.startswith("alias:"):
        _, label, name = key.split(":", 2)
        if "user_aliases" in fields:
            out["user_aliases"] = [{"alias_name": name, "alias_label": label}]
    elif key.startswith(("braze:", "email:", "device:")):
        if key.startswith("braze:") and "braze_id" in fields:
            out["braze_id"] = key[6:]
    elif "external_id" in fields:
        out["external_id"] = key
    return orjson.dumps(out)


def _sink_lines(backend: SinkBackend, segment: Segment, fields: set[str]) -> Iterator[bytes]:
    f = segment.filter
    if f.attribute is not None:
        keys = backend.members.get(f.attribute, {}).get(f.value, set())
    else:
        cohort = backend.cohorts.cohorts.get((f.partner or "", f.cohort_id or ""))
        keys = cohort.members if cohort is not None else set()
    for key in sorted(keys):
        yield _sink_key_line(key, fields)


def segment_lines(backend: Backend, segment: Segment, fields: tuple[str, ...]) -> Iterator[bytes]:
    wanted = set(fields)
    if isinstance(backend, FullBackend):
        return _full_lines(backend, segment, wanted)
    if isinstance(backend, SinkBackend):
        return _sink_lines(backend, segment, wanted)
    raise TypeError(f"no segment support in {type(backend).__name__}")
