"""Seed payloads (admin endpoint, ``seed_users``, ``users_file``) normalised for the backends.

Accepted shapes, combinable in one object:

- a list of user records, or ``{"users": [records]}``; a record is
  ``{"external_id"?, "user_alias"? {alias_name, alias_label}, "user_aliases"? [...],
  "device_id"?, "device_ids"? [...], "email"?, "attributes"? {...}}`` or a bare external id string;
- ``{"external_ids": ["a", "b", ...]}``: the fast path for many identified users;
- ``{"external_ids_range": {"prefix": "user_", "start": 0, "count": N, "width": 9}}``: external ids
  ``user_000000000`` ... generated on the fly (``width`` zero-pads the number; 0 = no padding).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cohortops.sandbox.config import SandboxError


@dataclass(frozen=True)
class Seed:
    external_ids: tuple[Iterable[str], ...] = ()
    records: tuple[dict[str, Any], ...] = ()


def _fail(message: str) -> SandboxError:
    return SandboxError(f"Invalid seed: {message}", hint="See cohortops.sandbox.seeds for shapes.")


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(f"'{key}' must be a non-empty string")
    return value


def _alias(raw: Any) -> tuple[str, str]:
    if not isinstance(raw, dict):
        raise _fail("an alias must be an object with alias_name and alias_label")
    name, label = raw.get("alias_name"), raw.get("alias_label")
    if not (isinstance(name, str) and name and isinstance(label, str) and label):
        raise _fail("an alias needs non-empty alias_name and alias_label")
    return label, name


def normalise_record(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str) and raw:
        return {"external_id": raw}
    if not isinstance(raw, dict):
        raise _fail("each user must be an object or an external id string")
    record: dict[str, Any] = {}
    if (external_id := _text(raw, "external_id")) is not None:
        record["external_id"] = external_id
    aliases = [_alias(raw["user_alias"])] if raw.get("user_alias") is not None else []
    aliases.extend(_alias(a) for a in raw.get("user_aliases") or ())
    if aliases:
        record["aliases"] = aliases
    devices = [d] if (d := _text(raw, "device_id")) is not None else []
    extra = raw.get("device_ids") or []
    if not isinstance(extra, list) or not all(isinstance(v, str) and v for v in extra):
        raise _fail("'device_ids' must be an array of non-empty strings")
    devices.extend(extra)
    if devices:
        record["device_ids"] = devices
    if (email := _text(raw, "email")) is not None:
        record["email"] = email
    attributes = raw.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            raise _fail("'attributes' must be an object")
        record["attributes"] = attributes
    if not (external_id or aliases or devices or email):
        raise _fail("each user needs an external_id, an alias, a device_id or an email")
    return record


def _id_range(spec: Any) -> Iterator[str]:
    if not isinstance(spec, dict):
        raise _fail("'external_ids_range' must be an object")
    prefix, start = spec.get("prefix", ""), spec.get("start", 0)
    count, width = spec.get("count"), spec.get("width", 0)
    if not isinstance(prefix, str):
        raise _fail("'external_ids_range.prefix' must be a string")
    for name, value in (("start", start), ("count", count), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _fail(f"'external_ids_range.{name}' must be a non-negative integer")
    return (f"{prefix}{i:0{width}d}" for i in range(start, start + count))


def parse_seed(payload: Any) -> Seed:
    if isinstance(payload, list):
        if payload and all(type(r) is str and r for r in payload):
            return Seed(external_ids=(payload,))  # bulk path: a plain list of external ids
        return Seed(records=tuple(normalise_record(r) for r in payload))
    if not isinstance(payload, dict):
        raise _fail("expected a list of users or an object")
    known = {"users", "external_ids", "external_ids_range"}
    if not payload.keys() <= known:
        if payload.keys().isdisjoint(known):
            return Seed(records=(normalise_record(payload),))
        raise _fail("unknown keys " + ", ".join(sorted(payload.keys() - known)))
    id_sources: list[Iterable[str]] = []
    ids = payload.get("external_ids")
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(v, str) and v for v in ids):
            raise _fail("'external_ids' must be an array of non-empty strings")
        id_sources.append(ids)
    if "external_ids_range" in payload:
        id_sources.append(_id_range(payload["external_ids_range"]))
    users = payload.get("users") or []
    if not isinstance(users, list):
        raise _fail("'users' must be an array")
    return Seed(tuple(id_sources), tuple(normalise_record(r) for r in users))


def segment_seed(
    segment_id: str, external_ids: Iterable[str], version: str
) -> tuple[Any, dict[str, Any]]:
    """A Braze segment holding exactly ``external_ids``: the seed that marks them (custom
    attribute ``segment:<id>`` = ``version``) and the filter that selects that mark. A new
    ``version`` redefines the segment: users marked by an older one drop out."""
    attribute = f"segment:{segment_id}"
    users = [{"external_id": e, "attributes": {attribute: version}} for e in external_ids]
    return {"users": users}, {"attribute": attribute, "includes": version}


def seed_size(seed: Seed) -> int | None:
    """How many users a seed holds, or None when it is a lazy range that counting would use up."""
    sized = [ids for ids in seed.external_ids if isinstance(ids, list | tuple)]
    if len(sized) != len(seed.external_ids):
        return None
    return sum(len(ids) for ids in sized) + len(seed.records)


def _read_csv(path: Path, data: bytes) -> Seed:
    """A CSV with a header: ids from its ``external_id`` column, else from its first column."""
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig", "replace")))
    header = next(rows, None)
    if not header:
        raise SandboxError(
            f"{path} is empty; a CSV users file needs a header row.",
            hint="Write a header such as `external_id`, then one id per line.",
        )
    index = header.index("external_id") if "external_id" in header else 0
    ids = [row[index].strip() for row in rows if len(row) > index and row[index].strip()]
    return Seed((ids,) if ids else ())


def read_users_file(path: Path) -> Seed:
    """A CSV with a header (``.csv``), JSON (any seed shape) or JSONL (one record per line; a
    line not starting with ``{`` is an external id)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SandboxError(
            f"Cannot read the sandbox users file {path}: {exc.strerror}.",
            hint="Check the path given to --users.",
        ) from None
    if path.suffix.lower() == ".csv":
        return _read_csv(path, data)
    try:
        return parse_seed(orjson.loads(data))
    except orjson.JSONDecodeError:
        pass
    records: list[dict[str, Any]] = []
    ids: list[str] = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not line.startswith("{"):
            ids.append(line)
            continue
        try:
            records.append(normalise_record(orjson.loads(line)))
        except (orjson.JSONDecodeError, SandboxError) as exc:
            raise SandboxError(
                f"{path}:{number}: not a valid user record ({exc}).",
                hint="Each line must be a JSON object or an external id.",
            ) from None
    return Seed((ids,) if ids else (), tuple(records))
