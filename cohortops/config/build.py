"""Build the frozen model from merged, already validated raw data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypedDict, cast

from cohortops.config.model import (
    WEEKDAYS,
    AttributeDelivery,
    BrazeSegmentSource,
    Cohort,
    CohortImportDelivery,
    Config,
    Connection,
    Delivery,
    Destination,
    FileFormat,
    FileSource,
    Guards,
    LyticsSource,
    Notify,
    Schedule,
    Secret,
    Source,
    SqlSource,
    StateConfig,
)
from cohortops.config.rules import Entity
from cohortops.config.yamlpos import Parsed

_FORMATS: Mapping[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}


def _base_dir(entity: Entity) -> Path:
    return Path(entity.parsed.values[()].file).parent


def _secret(value: object, where: str) -> Secret:
    return Secret(str(value), where)


def build_destination(e: Entity) -> Destination:
    d = e.data
    return Destination(
        id=e.id,
        rest_endpoint=_secret(d["rest_endpoint"], f"destinations.{e.id}.rest_endpoint"),
        api_key=_secret(d["api_key"], f"destinations.{e.id}.api_key"),
        requests_per_second=float(d.get("requests_per_second", 500.0)),
        max_objects_per_request=int(d.get("max_objects_per_request", 75)),
        location=e.at(),
        **_lytics_destination(e),
    )


def _lytics_destination(e: Entity) -> dict[str, Any]:
    d = e.data
    if d.get("kind", "braze") != "lytics":
        return {}
    bulk = d.get("bulk_endpoint")
    return {
        "kind": "lytics",
        "stream": d.get("stream", "braze_users"),
        "id_field": d.get("id_field", "external_id"),
        "bulk_endpoint": _secret(bulk, f"destinations.{e.id}.bulk_endpoint") if bulk else None,
        "records_per_request": int(d.get("records_per_request", 5000)),
    }


def build_delivery(e: Entity) -> Delivery:
    d = e.data["delivery"]
    where = f"connections.{e.id}.delivery"
    if d["method"] == "attribute":
        return AttributeDelivery(
            attribute=d["attribute"],
            create_missing_users=bool(d.get("create_missing_users", False)),
            max_array_length=int(d.get("max_array_length", 25)),
        )
    endpoint = d.get("rest_endpoint")
    return CohortImportDelivery(
        partner_api_key=_secret(d["partner_api_key"], f"{where}.partner_api_key"),
        client_secret=_secret(d["client_secret"], f"{where}.client_secret"),
        rest_endpoint=_secret(endpoint, f"{where}.rest_endpoint") if endpoint else None,
    )


def build_connection(e: Entity) -> Connection:
    return Connection(
        id=e.id,
        partner=e.data["partner"],
        destination=e.data["destination"],
        delivery=build_delivery(e),
        location=e.at(),
    )


class _SegmentTimings(TypedDict, total=False):
    ready_timeout: float
    poll_seconds: float


def build_source(e: Entity, destinations: Mapping[str, Destination]) -> Source:
    s = e.data["source"]
    if "braze_segment" in s:
        seg = s["braze_segment"]
        timings: _SegmentTimings = {}  # keys left out take the model's defaults (one place)
        if "ready_timeout" in seg:
            timings["ready_timeout"] = float(seg["ready_timeout"])
        if "poll_seconds" in seg:
            timings["poll_seconds"] = float(seg["poll_seconds"])
        return BrazeSegmentSource(
            segment=str(seg["segment"]),
            braze=destinations[seg["destination"]],
            identifier=e.data["identifier"],
            alias_label=e.data.get("alias_label"),
            **timings,
        )
    if "sql" in s:
        sql = s["sql"]
        return SqlSource(
            url=_secret(sql["url"], f"cohorts.{e.id}.source.sql.url"),
            query=sql["query"],
            column=sql.get("column"),
            diff=sql.get("diff", "local"),
            mirror_schema=sql.get("mirror_schema", "cohortops"),
        )
    if "lytics" in s:
        ly = s["lytics"]
        where = f"cohorts.{e.id}.source.lytics"
        return LyticsSource(
            segment=str(ly["segment"]),
            token=_secret(ly["token"], f"{where}.token"),
            id_field=ly.get("id_field", "external_id"),
            endpoint=_secret(ly.get("endpoint", "https://api.lytics.io"), f"{where}.endpoint"),
            page_size=int(ly.get("page_size", 1000)),
        )
    path = Path(s["file"])
    if not path.is_absolute():
        path = (_base_dir(e) / path).resolve()
    fmt = s.get("format") or _FORMATS[path.suffix.lower()]
    return FileSource(
        path=path,
        format=fmt,
        column=s.get("column"),
        delimiter=s.get("delimiter", ","),
        header=bool(s.get("header", True)),
    )


def build_schedule(raw: Mapping[str, Any] | None) -> Schedule | None:
    if raw is None:
        return None
    hh, mm = (int(x) for x in raw["at"].split(":"))
    day = raw.get("day")
    return Schedule(
        every=raw["every"],
        at=dt.time(hh, mm),
        timezone=raw["timezone"],
        date=dt.date.fromisoformat(raw["date"]) if "date" in raw else None,
        weekday=WEEKDAYS.index(raw["weekday"]) if "weekday" in raw else None,
        day=day if day == "last" else (int(day) if day is not None else None),
    )


def connections_of(data: Mapping[str, Any]) -> list[str]:
    """A cohort's connections as declared: one id, or a list of them. The file is valid here;
    ``rules._listed`` parses the same field leniently to report problems: keep the two alike."""
    declared = data["connection"]
    return [declared] if isinstance(declared, str) else list(declared)


def expanded_id(cohort_id: str, connection: str, first: bool) -> str:
    """The internal id of one (cohort, connection) pair: the first keeps the declared id, so a
    cohort that gains a second connection keeps its state; the others are ``id@connection``."""
    return cohort_id if first else f"{cohort_id}@{connection}"


def build_cohorts(
    e: Entity, connections: Mapping[str, Connection], destinations: Mapping[str, Destination]
) -> list[Cohort]:
    """One :class:`Cohort` per connection the declaration lists."""
    base = build_cohort(e, destinations)
    names = connections_of(e.data)
    if len(names) == 1:
        return [base]

    def to_braze(name: str) -> bool:
        return destinations[connections[name].destination].kind == "braze"

    # the mirror segment describes a Braze destination: it stays with the first Braze pair
    mirror_on = next((n for n in names if to_braze(n)), None)
    return [
        replace(
            base,
            id=expanded_id(e.id, name, i == 0),
            connection=name,
            declared=e.id,
            moved_from=base.moved_from if i == 0 else None,
            braze_segment=base.braze_segment if name == mirror_on else None,
        )
        for i, name in enumerate(names)
    ]


def build_cohort(e: Entity, destinations: Mapping[str, Destination]) -> Cohort:
    d = e.data
    notify = d.get("notify") or {}
    guards = d.get("guards") or {}
    return Cohort(
        id=e.id,
        name=d.get("name", e.id),
        connection=connections_of(d)[0],
        identifier=d["identifier"],
        alias_label=d.get("alias_label"),
        source=build_source(e, destinations),
        schedule=build_schedule(d.get("schedule")),
        notify=Notify(
            email=tuple(notify.get("email", ())),
            webhook=_secret(notify["webhook"], f"cohorts.{e.id}.notify.webhook")
            if notify.get("webhook")
            else None,
            on=tuple(notify.get("on", ("failure", "changes"))),
        ),
        guards=Guards(
            max_remove_percent=guards.get("max_remove_percent", 50.0),
            allow_empty=bool(guards.get("allow_empty", False)),
        ),
        backfill_existing=bool(d.get("backfill_existing", True)),
        moved_from=d.get("moved_from"),
        location=e.at(),
        braze_segment=d.get("braze_segment"),
        removal=cast(Literal["mirror", "additive"], d.get("removal", "mirror")),
    )


def build_state(owner: tuple[Path, Parsed] | None) -> StateConfig:
    if owner is None:
        return StateConfig()
    path, parsed = owner
    raw = parsed.data["state"]
    where = parsed.values[("state",)]
    db_path = raw.get("path")
    resolved = (path.parent / db_path).resolve() if db_path else None
    url = raw.get("url")
    return StateConfig(
        backend=raw["backend"],
        path=resolved,
        url=Secret(url, "state.url") if url else None,
        location=where,
    )


def build_config(
    root: Path,
    files: list[Path],
    digest: str,
    merged: Mapping[str, Mapping[str, Entity]],
    state_owner: tuple[Path, Parsed] | None,
) -> Config:
    destinations = {k: build_destination(e) for k, e in merged["destinations"].items()}
    connections = {k: build_connection(e) for k, e in merged["connections"].items()}
    cohorts = {
        c.id: c
        for e in merged["cohorts"].values()
        for c in build_cohorts(e, connections, destinations)
    }
    return Config(
        version=1,
        root=root,
        files=tuple(files),
        digest=digest,
        state=build_state(state_owner),
        destinations=MappingProxyType(destinations),
        connections=MappingProxyType(connections),
        cohorts=MappingProxyType(cohorts),
    )
