"""Semantic rules the schema cannot express: references, schedules, identifiers, renames.

Rules read the merged raw data defensively (schema errors may be present too), so one run reports
every problem at once.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cohortops.config.model import Location
from cohortops.config.yamlpos import JsonPath, Parsed, Problem

SOURCE_KINDS = ("file", "sql", "lytics", "braze_segment")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class Entity:
    """One destination, connection or cohort as declared: its raw data and where it lives."""

    section: str
    id: str
    data: Any
    parsed: Parsed

    @property
    def path(self) -> JsonPath:
        return (self.section, self.id)

    def at(self, *sub: str | int) -> Location:
        if not sub:
            return self.parsed.keys[self.path]
        full = (*self.path, *sub)
        for depth in range(len(full), 1, -1):
            loc = self.parsed.values.get(full[:depth])
            if loc is not None:
                return loc
        return self.parsed.keys[self.path]

    def problem(self, message: str, *sub: str | int) -> Problem:
        return Problem(self.at(*sub), (*self.path, *sub), message)

    def get(self, *keys: str) -> Any:
        node = self.data
        for key in keys:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        return node


def suggest(name: str, options: Mapping[str, Any] | list[str]) -> str:
    import difflib  # only when a name is unknown

    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def _reference(
    entity: Entity, key: str, target: str, table: Mapping[str, Entity]
) -> Problem | None:
    name = entity.get(key)
    if not isinstance(name, str):
        return None
    return _unknown(entity, name, target, table, (key,))


def _unknown(
    entity: Entity,
    name: str,
    target: str,
    table: Mapping[str, Entity],
    where: tuple[str | int, ...],
) -> Problem | None:
    """``unknown <target> 'name'; did you mean ...?`` when ``name`` is not in ``table``."""
    if name in table:
        return None
    known = ", ".join(sorted(table)) or "none declared"
    hint = suggest(name, list(table)) or f" (known: {known})"
    return entity.problem(f"unknown {target} '{name}'{hint}", *where)


def _url_problem(entity: Entity, *path: str) -> Problem | None:
    value = entity.get(*path)
    if not isinstance(value, str) or value.startswith("${env:"):
        return None  # resolved at use; the client checks it then
    if not value.startswith(("http://", "https://")):
        return None  # the schema's pattern already said so, once
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError as exc:
        return entity.problem(f"not a valid URL ({exc})", *path)
    if not parts.hostname:
        return entity.problem(f"'{value}' has no host", *path)
    if parts.username or parts.password or parts.query or parts.fragment:
        return entity.problem(
            "an endpoint is a base URL: no user, password, query or fragment", *path
        )
    return None


def check_endpoints(
    destinations: Mapping[str, Entity], connections: Mapping[str, Entity]
) -> Iterator[Problem]:
    for destination in destinations.values():
        problem = _url_problem(destination, "rest_endpoint")
        if problem:
            yield problem
    for connection in connections.values():
        problem = _url_problem(connection, "delivery", "rest_endpoint")
        if problem:
            yield problem


def check_connections(
    connections: Mapping[str, Entity], destinations: Mapping[str, Entity]
) -> Iterator[Problem]:
    for conn in connections.values():
        problem = _reference(conn, "destination", "destination", destinations)
        if problem:
            yield problem


def check_cohorts(
    cohorts: Mapping[str, Entity],
    connections: Mapping[str, Entity],
    destinations: Mapping[str, Entity],
) -> Iterator[Problem]:
    for cohort in cohorts.values():
        yield from _connections(cohort, connections, destinations)
        yield from _identifier(cohort, connections)
        yield from _source(cohort)
        yield from _segment_source(cohort, destinations)
        yield from _schedule(cohort)
        yield from _braze_segment(cohort, cohorts)
        moved = cohort.get("moved_from")
        if isinstance(moved, str) and moved in cohorts:
            yield cohort.problem(
                f"moved_from names '{moved}', which is still declared; remove that cohort "
                "or drop moved_from",
                "moved_from",
            )


def _listed(cohort: Entity) -> list[tuple[str, tuple[str | int, ...]]]:
    """The cohort's connection ids with where each is written (one id, or a list of them).

    ``build.connections_of`` reads the same field after validation: a new form of
    ``connection`` must be accepted by both."""
    declared = cohort.get("connection")
    if isinstance(declared, str):
        return [(declared, ("connection",))]
    if isinstance(declared, list):
        return [(c, ("connection", i)) for i, c in enumerate(declared) if isinstance(c, str)]
    return []


def _connections(
    cohort: Entity, connections: Mapping[str, Entity], destinations: Mapping[str, Entity]
) -> Iterator[Problem]:
    fed: dict[str, str] = {}
    for name, where in _listed(cohort):
        unknown = _unknown(cohort, name, "connection", connections, where)
        if unknown is not None:
            yield unknown
            continue
        destination = connections[name].get("destination")
        if not isinstance(destination, str) or destination not in destinations:
            continue
        if destination in fed and fed[destination] != name:  # a repeat: the schema says so
            yield cohort.problem(
                f"connections '{fed[destination]}' and '{name}' both deliver to destination "
                f"'{destination}'; a cohort feeds each destination once",
                *where,
            )
        fed.setdefault(destination, name)


def _identifier(cohort: Entity, connections: Mapping[str, Entity]) -> Iterator[Problem]:
    kind = cohort.get("identifier")
    if kind == "user_alias" and not cohort.get("alias_label"):
        yield cohort.problem(
            "identifier user_alias needs alias_label (the label of the aliases in the source)",
            "identifier",
        )
    if kind != "user_alias" and cohort.get("alias_label") is not None:
        yield cohort.problem("alias_label is only used with identifier user_alias", "alias_label")
    methods = [
        connections[name].get("delivery", "method")
        for name, _ in _listed(cohort)
        if name in connections
    ]
    if kind == "device_id" and "attribute" in methods:
        yield cohort.problem(
            "identifier device_id needs a cohort_import connection; /users/track cannot "
            "address users by device id",
            "identifier",
        )


def _segment_source(cohort: Entity, destinations: Mapping[str, Entity]) -> Iterator[Problem]:
    name = cohort.get("source", "braze_segment", "destination")
    if not isinstance(name, str):
        return
    where = ("source", "braze_segment", "destination")
    unknown = _unknown(cohort, name, "destination", destinations, where)
    if unknown is not None:
        yield unknown
    elif destinations[name].get("kind") not in (None, "braze"):
        braze = [k for k, d in destinations.items() if d.get("kind") in (None, "braze")]
        hint = suggest(name, braze) or (f" (Braze destinations: {', '.join(sorted(braze))})")
        yield cohort.problem(
            f"destination '{name}' is kind {destinations[name].get('kind')}; a braze_segment "
            f"source reads a kind: braze destination{hint}",
            *where,
        )
    if cohort.get("identifier") == "device_id":
        yield cohort.problem(
            "a braze_segment source cannot list device ids: segment exports name users by "
            "external_id, braze_id or user alias",
            "identifier",
        )


def _braze_segment(cohort: Entity, cohorts: Mapping[str, Entity]) -> Iterator[Problem]:
    segment = cohort.get("braze_segment")
    if not isinstance(segment, str):
        return
    if cohort.get("identifier") == "device_id":
        yield cohort.problem(
            "braze_segment cannot mirror a device_id cohort: segment exports name users by "
            "external_id, braze_id or user alias",
            "braze_segment",
        )
    for other in cohorts.values():
        if other.id < cohort.id and other.get("braze_segment") == segment:
            yield cohort.problem(
                f"braze_segment {segment} already mirrors cohort {other.id}; a segment mirrors "
                "one cohort",
                "braze_segment",
            )


def _source(cohort: Entity) -> Iterator[Problem]:
    source = cohort.get("source")
    if not isinstance(source, Mapping):
        return
    has_sql = "sql" in source
    kinds = [k for k in SOURCE_KINDS if k in source]
    if len(kinds) != 1:
        yield cohort.problem(
            "a source needs exactly one of 'file', 'sql', 'lytics' or 'braze_segment'", "source"
        )
        return
    if kinds != ["file"]:
        for key in ("format", "delimiter", "header"):
            if key in source:
                yield cohort.problem(f"'{key}' applies to file sources only", "source", key)
        if "column" in source and kinds == ["braze_segment"]:
            yield cohort.problem(
                "'column' does not apply: a braze_segment source reads the cohort's identifier",
                "source",
                "column",
            )
        elif "column" in source:
            inner = "sql" if has_sql else "lytics (as id_field)"
            yield cohort.problem(f"put 'column' inside {inner}", "source", "column")
        return
    path = str(source.get("file"))
    if "format" not in source and not path.lower().endswith(
        (".csv", ".jsonl", ".ndjson", ".parquet")
    ):
        yield cohort.problem(
            f"cannot tell the format of '{path}' from its extension; add format: csv, jsonl "
            "or parquet",
            "source",
            "file",
        )


def _schedule(cohort: Entity) -> Iterator[Problem]:
    schedule = cohort.get("schedule")
    if not isinstance(schedule, Mapping):
        return
    at = schedule.get("at")
    if isinstance(at, str) and not _TIME.match(at):
        yield cohort.problem(f"'{at}' is not a time (HH:MM)", "schedule", "at")
    tz = schedule.get("timezone")
    if isinstance(tz, str):
        import zoneinfo  # only configurations with a schedule pay for it

        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            yield cohort.problem(
                f"'{tz}' is not an IANA timezone (e.g. Europe/Paris, America/New_York, UTC)",
                "schedule",
                "timezone",
            )
    every = schedule.get("every")
    yield from _schedule_fields(cohort, schedule, every)


def _schedule_fields(cohort: Entity, schedule: Mapping[str, Any], every: Any) -> Iterator[Problem]:
    needs = {"once": "date", "weekly": "weekday", "monthly": "day"}
    for other in ("date", "weekday", "day"):
        if other in schedule and needs.get(str(every)) != other:
            yield cohort.problem(f"'{other}' does not apply to every: {every}", "schedule", other)
    field = needs.get(str(every))
    if field and field not in schedule:
        yield cohort.problem(f"every: {every} needs '{field}'", "schedule", "every")
    date = schedule.get("date")
    if every == "once" and isinstance(date, str):
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            yield cohort.problem(f"'{date}' is not a date (YYYY-MM-DD)", "schedule", "date")
    day = schedule.get("day")
    if (
        every == "monthly"
        and "day" in schedule
        and not (
            day == "last" or (isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 28)
        )
    ):
        yield cohort.problem(
            f"{day!r} is not a monthly day: use 1-28 or 'last' (29-31 do not exist every month)",
            "schedule",
            "day",
        )
