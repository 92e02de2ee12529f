"""POST /users/track: validate a request into parsed objects, or into the error Braze returns.

Both backends (full model and sink) apply the same parsed objects, so validation, limits and
partial errors behave identically in either mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cohortops.sandbox.attributes import SKIP, InvalidValue, Op, parse_value
from cohortops.sandbox.config import SandboxConfig

NO_DATA = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
TOO_MANY = "Max Input Length Exceeded"
ARRAYS = ("attributes", "events", "purchases")
PRIMARY = ("external_id", "user_alias", "braze_id")
# Keys of an attributes object that are not custom attributes.
RESERVED = frozenset({*PRIMARY, "email", "phone", "_update_existing_only", "push_token_import"})
# Braze creates missing profiles for these identifiers unless told otherwise.
CREATE_BY_DEFAULT = {"external_id": True, "user_alias": False, "braze_id": False, "email": True}


@dataclass(slots=True)
class TrackObject:
    index: int
    kind: str  # external_id | user_alias | braze_id | email
    ident: Any  # str, or (alias_label, alias_name) for user_alias
    update_existing_only: bool
    ops: list[tuple[str, Op]]
    email: str | None = None  # the email attribute, when another identifier names the user


@dataclass(slots=True)
class TrackRequest:
    objects: list[TrackObject] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # valid objects per array sent
    errors: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


class TrackRejected(Exception):
    """The whole request fails: status 400 and this body, nothing applied."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        super().__init__(body["message"])


def _string(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if type(value) is not str or not value or len(value) > 255:
        raise InvalidValue(f"'{key}' must be a non-empty string of at most 255 characters")
    return value


def _alias(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise InvalidValue("'user_alias' must be an object with alias_name and alias_label")
    name, label = value.get("alias_name"), value.get("alias_label")
    if not (isinstance(name, str) and name and isinstance(label, str) and label):
        raise InvalidValue("'user_alias' needs non-empty alias_name and alias_label")
    return label, name


def parse_identifier(obj: dict[str, Any]) -> tuple[str, Any]:
    if "external_id" in obj and "user_alias" not in obj and "braze_id" not in obj:
        return "external_id", _string(obj, "external_id")  # the common case, checked first
    present = [key for key in PRIMARY if key in obj]
    if len(present) > 1:
        raise InvalidValue("Object has more than one identifier: " + ", ".join(present))
    if present:
        kind = present[0]
        if kind == "user_alias":
            return kind, _alias(obj[kind])
        return kind, _string(obj, kind)
    if "email" in obj:
        return "email", _string(obj, "email")
    raise InvalidValue("Object has no identifier (external_id, user_alias, braze_id or email)")


def _parse_attributes(index: int, obj: dict[str, Any], config: SandboxConfig) -> TrackObject:
    kind, ident = parse_identifier(obj)
    flag = obj.get("_update_existing_only", not CREATE_BY_DEFAULT[kind])
    if not isinstance(flag, bool):
        raise InvalidValue("'_update_existing_only' must be a boolean")
    email = None
    if kind != "email" and "email" in obj:
        email = _string(obj, "email")
    ops = []
    limits, default_limit = config.array_length_overrides, config.max_array_length
    for key, value in obj.items():
        if key in RESERVED:
            continue
        op = parse_value(key, value, limits, default_limit)
        if op is not SKIP:
            ops.append((key, op))
    return TrackObject(index, kind, ident, flag, ops, email)


def _check_other(array: str, obj: dict[str, Any]) -> None:
    parse_identifier(obj)
    required = "name" if array == "events" else "product_id"
    if not isinstance(obj.get(required), str) or not obj[required]:
        raise InvalidValue(f"'{required}' must be a non-empty string")


def parse_track(body: Any, config: SandboxConfig) -> TrackRequest:
    if not isinstance(body, dict):
        raise TrackRejected({"message": "Request body must be a JSON object."})
    arrays: dict[str, list[Any]] = {}
    for name in ARRAYS:
        if name in body and body[name] is not None:
            if not isinstance(body[name], list):
                raise TrackRejected({"message": f"'{name}' must be an array."})
            arrays[name] = body[name]
    request = TrackRequest(total=sum(len(a) for a in arrays.values()))
    if request.total > config.max_objects_per_request:
        raise TrackRejected({"message": TOO_MANY})
    if request.total == 0:
        raise TrackRejected({"message": NO_DATA})
    for name, items in arrays.items():
        valid = 0
        for index, obj in enumerate(items):
            try:
                if not isinstance(obj, dict):
                    raise InvalidValue(f"'{name}' entries must be objects")
                if name == "attributes":
                    request.objects.append(_parse_attributes(index, obj, config))
                else:
                    _check_other(name, obj)
                valid += 1
            except InvalidValue as exc:
                request.errors.append({"type": str(exc), "input_array": name, "index": index})
        request.counts[name] = valid
    if not any(request.counts.values()):
        raise TrackRejected({"message": NO_DATA, "errors": request.errors})
    return request


def success_body(request: TrackRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"message": "success"}
    for name, count in request.counts.items():
        body[f"{name}_processed"] = count
    if request.errors:
        body["errors"] = request.errors
    return body
