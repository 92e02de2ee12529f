"""Custom attribute values: parsing (what is valid) and applying (Braze's array semantics).

Parsing happens for a whole object before any of it is applied, so an invalid object changes
nothing. Over-limit strings and arrays are valid but parse to SKIP: Braze accepts them with a 2xx
and does not apply them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_STRING = 255

# Parsed operations: ("set", value) | ("array", add, remove) | ("inc", number) | SKIP
Op = tuple[Any, ...]
SKIP: Op = ("skip",)
ARRAY_KEYS = frozenset({"add", "remove"})


class InvalidValue(Exception):
    """The value has a type Braze rejects; the whole object is reported in ``errors``."""


SCALARS = (str, int, float, bool)


def _checked_list(key: str, values: Any, what: str) -> bool:
    """Validate an array of scalars; True when it holds an over-limit string."""
    if type(values) is not list:
        raise InvalidValue(f"'{key}' {what} must be an array")
    too_long = False
    for v in values:
        kind = type(v)
        if kind is str:
            if len(v) > MAX_STRING:
                too_long = True
        elif kind not in SCALARS:
            raise InvalidValue(f"'{key}' {what} must hold strings, numbers or booleans")
    return too_long


def parse_value(key: str, value: Any, limits: Mapping[str, int], default_limit: int) -> Op:
    """Turn one ``key: value`` pair of a /users/track object into an operation."""
    if len(key) > MAX_STRING:
        return SKIP
    kind = type(value)
    if kind is dict:
        if value and value.keys() <= ARRAY_KEYS:
            add = value.get("add", ())
            remove = value.get("remove", ())
            too_long = "add" in value and _checked_list(key, add, "add")
            if "remove" in value and _checked_list(key, remove, "remove"):
                too_long = True
            return SKIP if too_long else ("array", add, remove)
        if value.keys() == {"inc"}:
            amount = value["inc"]
            if type(amount) not in (int, float):
                raise InvalidValue(f"'{key}' inc must be a number")
            return ("inc", amount)
        return ("set", value)
    if kind is str:
        return SKIP if len(value) > MAX_STRING else ("set", value)
    if value is None or kind in SCALARS:
        return ("set", value)
    if kind is list:
        if _checked_list(key, value, "array"):
            return SKIP
        unique = list(dict.fromkeys(value))
        if len(unique) > limits.get(key, default_limit):
            return SKIP
        return ("set", unique)
    raise InvalidValue(f"'{key}' has an unsupported type")


def apply_op(attrs: dict[str, Any], key: str, op: Op, limit: int) -> bool:
    """Apply a parsed operation; True when the stored value changed."""
    kind = op[0]
    if kind == "array":
        return _apply_array(attrs, key, op[1], op[2], limit)
    if kind == "set":
        value = op[1]
        if value is None:
            return attrs.pop(key, None) is not None
        old = attrs.get(key)
        if isinstance(value, list | dict):
            value = copy_value(value)
        attrs[key] = value
        return old != value or type(old) is not type(value)
    if kind == "inc":
        old = attrs.get(key)
        base = old if isinstance(old, int | float) and not isinstance(old, bool) else 0
        attrs[key] = base + op[1]
        return bool(op[1]) or old is None
    return False


def _apply_array(
    attrs: dict[str, Any], key: str, add: list[Any], remove: list[Any], limit: int
) -> bool:
    current = attrs.get(key)
    items = current if isinstance(current, list) else []
    changed = False
    for value in remove:
        while value in items:
            items.remove(value)
            changed = True
    for value in add:
        if value in items:
            # Re-adding moves the value to the end (it becomes the newest).
            if items[-1] != value:
                items.remove(value)
                items.append(value)
                changed = True
        else:
            items.append(value)
            changed = True
    if len(items) > limit:
        # Braze's silent overflow: the oldest values fall off, the request still succeeds.
        del items[: len(items) - limit]
    if items or isinstance(current, list):
        attrs[key] = items
    return changed


def copy_value(value: Any) -> Any:
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    if isinstance(value, dict):
        return {k: copy_value(v) for k, v in value.items()}
    return value
