"""The JSON Schema check: one located, readable diagnostic per problem."""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cohortops.config.yamlpos import JsonPath, Parsed, Problem, format_path

if TYPE_CHECKING:  # jsonschema costs ~0.15 s to import: only unvalidated documents pay for it
    import jsonschema
    from jsonschema.exceptions import ValidationError


@cache
def load_schema() -> dict[str, Any]:
    text = resources.files("cohortops").joinpath("schemas/cohortops.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_text() -> str:
    return resources.files("cohortops").joinpath("schemas/cohortops.schema.json").read_text()


@cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema())


def _cache_marker(parsed: Parsed) -> Path | None:
    """Where a document that passed this schema is remembered (content hash, not path)."""
    if os.environ.get("COHORTOPS_CACHE_DIR"):
        root = Path(os.environ["COHORTOPS_CACHE_DIR"])
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "cohortops"
    text = json.dumps(
        parsed.data, sort_keys=True, default=lambda o: f"{type(o).__name__}:{o}"
    ).encode()
    digest = hashlib.sha256(schema_text().encode() + b"\0" + text).hexdigest()
    return root / "valid" / digest


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The most specific errors: if/then and allOf wrap the useful ones in context."""
    if error.context:
        out: list[ValidationError] = []
        for sub in error.context:
            out.extend(_leaves(sub))
        return out
    return [error]


def _unknown_keys(error: ValidationError) -> list[tuple[JsonPath, str]]:
    """One problem per unknown key, each with the closest allowed key or the whole list."""
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    known = sorted(schema.get("properties", {}))
    instance: Any = error.instance
    extra = sorted(set(instance) - set(known)) or ["?"]
    found = []
    for key in extra:
        import difflib  # only when a key is unknown

        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean '{close[0]}'?"
        else:
            hint = f"; allowed: {', '.join(known)}" if known else ""
        found.append(((*tuple(error.absolute_path), key), f"unknown key '{key}'{hint}"))
    return found


def _message(error: ValidationError) -> tuple[JsonPath, str]:
    path: JsonPath = tuple(error.absolute_path)
    instance: Any = error.instance
    kind: Any = error.validator
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    expected: Any = error.validator_value
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        return path, f"missing required key '{missing}'"
    if kind == "propertyNames":
        return path, str(error.message)
    if kind == "type" and path and path[-1] == "schedule" and isinstance(instance, list):
        return path, "a cohort has one schedule; to refresh on two rhythms, declare two cohorts"
    if kind == "type":
        names = expected if isinstance(expected, list) else [expected]
        return path, f"{json.dumps(instance)} is not of type {' or '.join(map(str, names))}"
    if kind in {"enum", "const"}:
        options = expected if kind == "enum" else [expected]
        listed = ", ".join(json.dumps(o) for o in options)
        return path, f"{json.dumps(instance)} is not one of {listed}"
    if "x-message" in schema:
        return path, str(schema["x-message"]).replace("{value}", json.dumps(instance))
    if kind == "pattern":
        described = schema.get("description", f"must match {expected}")
        return path, f"{json.dumps(instance)} is invalid: {described}"
    return path, str(error.message)


def _locate(parsed: Parsed, path: JsonPath) -> Any:
    for depth in range(len(path), -1, -1):
        prefix = path[:depth]
        if prefix in parsed.keys and depth == len(path):
            return parsed.keys[prefix]
        if prefix in parsed.values:
            return parsed.values[prefix]
    return None


def check_schema(parsed: Parsed) -> list[Problem]:
    """Schema problems of one document; a document that passed before is not checked again."""
    try:
        marker = _cache_marker(parsed)
    except (TypeError, ValueError, RuntimeError):  # unhashable data, no home directory
        marker = None
    if marker is not None and marker.exists():
        return []
    problems = _check(parsed)
    if not problems and marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only home: validate every time
    return problems


def _check(parsed: Parsed) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[JsonPath, str]] = set()
    for top in _validator().iter_errors(parsed.data):
        for error in _leaves(top):
            unknown = error.validator == "additionalProperties"
            for path, message in _unknown_keys(error) if unknown else [_message(error)]:
                if (path, message) in seen:
                    continue
                seen.add((path, message))
                where = _locate(parsed, path)
                # point schema nodes at the value when it exists; unknown keys at the key
                if path in parsed.values and not unknown:
                    where = parsed.values[path]
                problems.append(Problem(where, path, message))
    return problems


__all__ = ["check_schema", "format_path", "load_schema", "schema_text"]
