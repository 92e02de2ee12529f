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
MAX_NODES = 100_000


def _too_deep(text: str, file: str) -> Problem | None:
    """Nesting deeper than ``MAX_DEPTH``, found in the event stream before anything is built
    (the composer is recursive and would raise ``RecursionError``; the parser is iterative)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                    return Problem(
                        Location(file, line, col),
                        (),
                        f"nesting deeper than {MAX_DEPTH} levels is not supported",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the composer reports it, located
    return None


class _Refused(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        self.node = node
        self.message = message


def _expanded_size(node: yaml.Node, sizes: dict[int, int], path: list[int]) -> int:
    """Nodes in ``node`` once every alias is expanded, memoised per node (linear in the graph).

    Raises ``_Refused`` for a recursive alias, an expansion beyond ``MAX_NODES`` ("billion
    laughs": each aliased level multiplies) or alias chains nesting beyond ``MAX_DEPTH``.
    """
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in path:
        raise _Refused(node, "recursive YAML alias: a node contains itself")
    if len(path) > MAX_DEPTH:
        raise _Refused(node, f"nesting deeper than {MAX_DEPTH} levels is not supported")
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    path.append(key)
    total = 1
    for child in children:
        total += _expanded_size(child, sizes, path)
        if total > MAX_NODES:
            raise _Refused(
                node,
                f"YAML aliases expand to more than {MAX_NODES:,} nodes; write the values out",
            )
    path.pop()
    sizes[key] = total
    return total


def parse_yaml(text: str, file: str) -> tuple[Parsed | None, list[Problem]]:
    """Parse one YAML document; problems are located, never raised."""
    deep = _too_deep(text, file)
    if deep is not None:
        return None, [deep]
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
    try:
        _expanded_size(nodes[0], {}, [])
    except _Refused as refused:
        return None, [Problem(walker.loc(refused.node), (), refused.message)]
    data = walker.walk(nodes[0], ())
    return Parsed(data, walker.values, walker.keys), walker.problems
