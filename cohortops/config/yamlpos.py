"""YAML to plain data, keeping the position of every node and refusing duplicate keys.

PyYAML keeps the last of two equal keys without a word; a config tool must not. Plain (unquoted)
scalars resolve to JSON's types only: ``null``/``~``/empty, ``true``/``false`` (any of the
three capitalisations), decimal integers and decimal floats (``017``, with its leading zero,
is the float 17.0). Everything else stays a string:
``16:30`` (YAML 1.1 reads it as 990), ``on``/``yes``, ``0x1F``, ``0o17``, ``.inf``, ``.nan``,
dates. Merge keys are not expanded: ``<<`` is an ordinary key (which the schema then rejects),
as in YAML 1.2, which has no merge keys. Anchors and aliases work; an alias repeats the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from cohortops.config.model import Location

JsonPath = tuple[str | int, ...]

_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


@dataclass(frozen=True)
class Problem:
    location: Location
    path: JsonPath
    message: str


@dataclass
class Parsed:
    """One document: its data, where each path's value starts, where each mapping key starts."""

    data: Any
    values: dict[JsonPath, Location]
    keys: dict[JsonPath, Location]


def format_path(path: JsonPath) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _scalar(node: yaml.ScalarNode) -> Any:
    value: str = node.value
    if node.style is not None:  # quoted or block scalars are always strings
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    return value


class _Walker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[JsonPath, Location] = {}
        self.keys: dict[JsonPath, Location] = {}
        self.problems: list[Problem] = []

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def walk(self, node: yaml.Node, path: JsonPath) -> Any:
        self.values[path] = self.loc(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(self.loc(key_node), path, "mapping keys must be plain strings")
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                first = self.keys[child]
                self.problems.append(
                    Problem(
                        self.loc(key_node),
                        child,
                        f"duplicate key '{key}' (first defined at line {first.line}); "
                        "remove one of them",
                    )
                )
                continue
            self.keys[child] = self.loc(key_node)
            out[key] = self.walk(value_node, child)
        return out


MAX_DEPTH = 64


def _refused_structure(text: str, file: str) -> Problem | None:
    """Aliases and deep nesting, found in the event stream before anything is built.

    Aliases are refused outright: the configuration language never needs them, and nested ones
    expand exponentially ("billion laughs"). Nesting deeper than ``MAX_DEPTH`` is refused before
    the (recursive) composer can raise ``RecursionError``. PyYAML's parser is iterative, so this
    pass is linear in the input.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            mark = event.start_mark
            where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
            if isinstance(event, yaml.AliasEvent):
                return Problem(
                    where,
                    (),
                    f"YAML alias *{event.anchor} is not supported; write the value out",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return Problem(
                        where, (), f"nesting deeper than {MAX_DEPTH} levels is not supported"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the composer below reports it, located
    return None


def parse_yaml(text: str, file: str) -> tuple[Parsed | None, list[Problem]]:
    """Parse one YAML document; problems are located, never raised."""
    refused = _refused_structure(text, file)
    if refused is not None:
        return None, [refused]
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        return None, [Problem(Location(file, line, col), (), f"invalid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(Location(file, 1, 1), (), f"invalid YAML: {exc}")]
    if not nodes:
        return None, [Problem(Location(file, 1, 1), (), "file is empty; add `version: 1`")]
    if len(nodes) > 1:
        second = nodes[1]
        at = Location(file, second.start_mark.line + 1, second.start_mark.column + 1)
        return None, [Problem(at, (), "one YAML document per file; split it into two files")]
    walker = _Walker(file)
    data = walker.walk(nodes[0], ())
    return Parsed(data, walker.values, walker.keys), walker.problems
