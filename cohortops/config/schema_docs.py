"""docs/configuration.md, generated from the JSON Schema: every key, its type, default, example.

`python -m cohortops.config.schema_docs > docs/configuration.md` rewrites it; a test fails when
the two differ, so the reference cannot drift from the language.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cohortops.config.schema import load_schema

HEADER = """# Configuration reference

Generated from `schemas/cohortops.schema.json` by `python -m cohortops.config.schema_docs`; do
not edit by hand. `<id>` stands for a key you choose (a destination, connection or cohort id).
Values written `${env:NAME}` are read from the environment when used and never printed.
"""


@dataclass(frozen=True)
class Key:
    path: str
    node: Mapping[str, Any]
    required: bool


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    if "$ref" in node:
        target = defs[str(node["$ref"]).rsplit("/", 1)[1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def keys(schema: Mapping[str, Any]) -> Iterator[Key]:
    """Every property of the language, depth first, in declaration order, once per path."""
    defs = schema.get("$defs", {})
    seen: set[str] = set()

    def walk(node: Mapping[str, Any], path: str) -> Iterator[Key]:
        node = _resolve(node, defs)
        required = set(node.get("required", ()))
        for name, child in node.get("properties", {}).items():
            child_path = f"{path}.{name}" if path else name
            if child_path not in seen:
                seen.add(child_path)
                yield Key(child_path, _resolve(child, defs), name in required)
            yield from walk(child, child_path)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            yield from walk(extra, f"{path}.<id>")
        for part in node.get("allOf", ()):
            yield from walk(part.get("then", part), path)
        for branch in ("oneOf", "anyOf"):
            for part in node.get(branch, ()):
                yield from walk(part, path)

    yield from walk(schema, "")


def type_of(node: Mapping[str, Any]) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {type_of(node.get('items', {}))}"
    return str(kind or "object")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(schema: Mapping[str, Any] | None = None) -> str:
    schema = schema if schema is not None else load_schema()
    lines = [HEADER.rstrip("\n")]
    section = None
    for key in keys(schema):
        top = key.path.split(".", 1)[0]
        if top != section:
            section = top
            lines += ["", f"## `{top}`", "", "| key | type | default | example | meaning |"]
            lines.append("|---|---|---|---|---|")
        default = (
            "required"
            if key.required
            else (f"`{json.dumps(key.node['default'])}`" if "default" in key.node else "—")
        )
        example = ", ".join(f"`{json.dumps(e)}`" for e in key.node.get("examples", ()))
        lines.append(
            f"| `{key.path}` | {type_of(key.node)} | {_cell(default)} | {_cell(example)} | "
            f"{_cell(str(key.node.get('description', '')))} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
