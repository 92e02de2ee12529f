"""The JSON Schema check: one located, readable diagnostic per problem."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from cohortops.config.yamlpos import JsonPath, Parsed, Problem, format_path


@cache
def load_schema() -> dict[str, Any]:
    text = resources.files("cohortops").joinpath("schemas/cohortops.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_text() -> str:
    return resources.files("cohortops").joinpath("schemas/cohortops.schema.json").read_text()


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The most specific errors: if/then and allOf wrap the useful ones in context."""
    if error.context:
        out: list[ValidationError] = []
        for sub in error.context:
            out.extend(_leaves(sub))
        return out
    return [error]


def _message(error: ValidationError) -> tuple[JsonPath, str]:
    path: JsonPath = tuple(error.absolute_path)
    instance: Any = error.instance
    kind: Any = error.validator
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    expected: Any = error.validator_value
    if kind == "additionalProperties":
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        allowed = ", ".join(sorted(schema.get("properties", {})))
        key = extra[0] if extra else "?"
        hint = f"; allowed: {allowed}" if allowed else ""
        return (*path, key), f"unknown key '{key}'{hint}"
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
        return path, str(schema["x-message"])
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
    problems: list[Problem] = []
    seen: set[tuple[JsonPath, str]] = set()
    for top in _validator().iter_errors(parsed.data):
        for error in _leaves(top):
            path, message = _message(error)
            if (path, message) in seen:
                continue
            seen.add((path, message))
            where = _locate(parsed, path)
            # point unknown keys and schema nodes at the value when it exists
            if path in parsed.values and error.validator != "additionalProperties":
                where = parsed.values[path]
            problems.append(Problem(where, path, message))
    return problems


__all__ = ["check_schema", "format_path", "load_schema", "schema_text"]
