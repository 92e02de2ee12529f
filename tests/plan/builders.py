"""Plain-data builders for planner tests: config, state and diffs without any loader or store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from cohortops.config.model import (
    AttributeDelivery,
    Cohort,
    CohortImportDelivery,
    Config,
    Connection,
    Destination,
    FileSource,
    Guards,
    IdentifierKind,
    Secret,
    StateConfig,
)
from cohortops.diff.memberdiff import MemberDiff
from cohortops.plan.settings import cohort_settings
from cohortops.sources.issues import SourceIssue
from cohortops.state.snapshot import CohortRecord, StateSnapshot

NOW = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
ROOT = Path("/repo/configs")


def ids(*values: str | Iterable[str]) -> Any:
    flat: list[str] = []
    for v in values:
        flat.extend([v] if isinstance(v, str) else v)
    return pa.array(sorted(flat), type=pa.string())


def users(n: int, prefix: str = "user_", start: int = 0) -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(start, start + n)]


def destination(id: str = "braze-prod", rps: float = 500.0, max_objects: int = 75) -> Destination:
    return Destination(
        id=id,
        rest_endpoint=Secret("https://rest.fra-01.braze.eu"),
        api_key=Secret("${env:BRAZE_API_KEY}"),
        requests_per_second=rps,
        max_objects_per_request=max_objects,
    )


def attr_connection(
    id: str = "lytics",
    *,
    attribute: str = "lytics_segments",
    destination: str = "braze-prod",
    create_missing_users: bool = False,
    max_array_length: int = 25,
) -> Connection:
    return Connection(
        id=id,
        partner=id,
        destination=destination,
        delivery=AttributeDelivery(
            attribute=attribute,
            create_missing_users=create_missing_users,
            max_array_length=max_array_length,
        ),
    )


def import_connection(
    id: str = "kubit", *, partner: str = "kubit", destination: str = "braze-prod"
) -> Connection:
    return Connection(
        id=id,
        partner=partner,
        destination=destination,
        delivery=CohortImportDelivery(
            partner_api_key=Secret("${env:KUBIT_PARTNER_KEY}"),
            client_secret=Secret("${env:BRAZE_DATA_IMPORT_KEY}"),
        ),
    )


def cohort(
    id: str,
    connection: str = "lytics",
    *,
    name: str | None = None,
    identifier: IdentifierKind = "external_id",
    alias_label: str | None = None,
    max_remove_percent: float | None = 50.0,
    allow_empty: bool = False,
    backfill_existing: bool = True,
    moved_from: str | None = None,
) -> Cohort:
    return Cohort(
        id=id,
        name=name or id,
        connection=connection,
        identifier=identifier,
        source=FileSource(path=ROOT / "data" / f"{id}.csv", format="csv", column="user_id"),
        alias_label=alias_label,
        guards=Guards(max_remove_percent=max_remove_percent, allow_empty=allow_empty),
        backfill_existing=backfill_existing,
        moved_from=moved_from,
    )


def config(
    cohorts: Sequence[Cohort],
    *,
    connections: Sequence[Connection] | None = None,
    destinations: Sequence[Destination] | None = None,
) -> Config:
    conns = connections if connections is not None else [attr_connection(), import_connection()]
    dests = destinations if destinations is not None else [destination()]
    return Config(
        version=1,
        root=ROOT,
        files=(ROOT / "cohorts.yaml",),
        digest="c0ffee" * 10 + "abcd",
        state=StateConfig(),
        destinations={d.id: d for d in dests},
        connections={c.id: c for c in conns},
        cohorts={c.id: c for c in cohorts},
    )


def record(
    cfg: Config,
    cohort_id: str,
    count: int,
    *,
    remote_created: bool = True,
    settings: Mapping[str, Any] | None = None,
    remote_name: str | None = None,
) -> CohortRecord:
    if settings is None:
        settings = cohort_settings(cfg, cfg.cohorts[cohort_id])
    return CohortRecord(
        cohort_id=cohort_id,
        settings=dict(settings),
        member_count=count,
        created_at=NOW - dt.timedelta(days=3),
        remote_created=remote_created,
        remote_name=remote_name,
    )


def state(*records: CohortRecord, lineage: str = "lineage-1", serial: int = 7) -> StateSnapshot:
    return StateSnapshot(lineage=lineage, serial=serial, cohorts={r.cohort_id: r for r in records})


def diff(
    cohort_id: str,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    desired: int | None = None,
    recorded: int = 0,
    issues: Sequence[SourceIssue] = (),
    skipped: Mapping[str, int] | None = None,
) -> MemberDiff:
    to_add, to_remove = ids(add), ids(remove)
    if desired is None:
        desired = recorded + len(to_add) - len(to_remove)
    return MemberDiff(
        cohort_id=cohort_id,
        to_add=to_add,
        to_remove=to_remove,
        desired_count=desired,
        recorded_count=recorded,
        issues=tuple(issues),
        skipped=dict(skipped or {}),
    )
