"""The frozen, typed configuration model every later stage consumes.

Nothing downstream of the loader touches raw YAML dicts: it gets these dataclasses.
Secrets stay references (:class:`Secret`) until the one place that needs the value calls
:meth:`Secret.reveal`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cohortops.errors import SecretError

IdentifierKind = Literal["external_id", "user_alias", "device_id"]
DeliveryMethod = Literal["attribute", "cohort_import"]
IDENTIFIER_KINDS: tuple[IdentifierKind, ...] = ("external_id", "user_alias", "device_id")
DELIVERY_METHODS: tuple[DeliveryMethod, ...] = ("attribute", "cohort_import")
Every = Literal["once", "daily", "weekly", "monthly"]
FileFormat = Literal["csv", "jsonl", "parquet"]

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, order=True)
class Location:
    """Where a node was declared: ``file:line:col`` (1-based, as editors count)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, repr=False)
class Secret:
    """A value that may hold ``${env:NAME}`` references, resolved only at use.

    ``str`` and ``repr`` never show a resolved value; a template with references shows as ``***``.
    """

    template: str
    where: str = ""  # what needs it, for error messages: "destinations.braze-prod.api_key"

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(ENV_REF.findall(self.template))

    @property
    def env_hint(self) -> str | None:
        """The variable an authentication error should name (the first one referenced)."""
        names = self.env_names
        return names[0] if names else None

    @property
    def is_reference(self) -> bool:
        return bool(ENV_REF.search(self.template))

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                place = f" (needed by {self.where})" if self.where else ""
                raise SecretError(
                    f"Environment variable {name} is not set{place}.",
                    hint=f"Export {name} before running cohortops.",
                )
            return env[name]

        return ENV_REF.sub(substitute, self.template)

    def redacted(self) -> str:
        """The template with every reference shown as ``${env:NAME}``-free ``***``."""
        return "***" if self.is_reference else self.template

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True)
class StateConfig:
    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: Path | None = (
        None  # sqlite: resolved against the declaring file; default .cohortops/state.db
    )
    url: Secret | None = None  # postgres
    location: Location | None = None


@dataclass(frozen=True)
class Destination:
    id: str
    rest_endpoint: Secret
    api_key: Secret
    requests_per_second: float = 500.0
    max_objects_per_request: int = 75
    location: Location | None = None
    # kind lytics: rest_endpoint is the Lytics API, api_key its token; membership goes to
    # `stream` as a map field keyed by cohort, profiles addressed by `id_field`.
    kind: Literal["braze", "lytics"] = "braze"
    stream: str = "braze_users"
    id_field: str = "external_id"
    bulk_endpoint: Secret | None = None  # Lytics' bulk CSV domain; default: rest_endpoint
    records_per_request: int = 5000  # kind lytics: records per collect request


@dataclass(frozen=True)
class AttributeDelivery:
    attribute: str
    create_missing_users: bool = False
    max_array_length: int = 25
    method: Literal["attribute"] = "attribute"


@dataclass(frozen=True)
class CohortImportDelivery:
    partner_api_key: Secret
    client_secret: Secret
    rest_endpoint: Secret | None = None  # overrides the destination's endpoint for partner calls
    method: Literal["cohort_import"] = "cohort_import"


Delivery = AttributeDelivery | CohortImportDelivery


@dataclass(frozen=True)
class Connection:
    id: str
    partner: str  # also the `{partner}` path segment of the cohort import API
    destination: str
    delivery: Delivery
    location: Location | None = None


@dataclass(frozen=True)
class FileSource:
    path: Path  # absolute, resolved against the declaring YAML file
    format: FileFormat
    column: str | None = None  # csv column / jsonl field / parquet column; None = the first
    delimiter: str = ","
    header: bool = True
    kind: Literal["file"] = "file"

    def describe(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class SqlSource:
    url: Secret
    query: str
    column: str | None = None  # None = the first column of the result
    kind: Literal["sql"] = "sql"
    # "warehouse": the diff runs in the source's database against a mirror of the recorded set
    diff: Literal["local", "warehouse"] = "local"
    mirror_schema: str = "cohortops"  # where the warehouse mirror tables live

    def describe(self) -> str:
        return f"sql ({self.url.redacted()})"


@dataclass(frozen=True)
class LyticsSource:
    """A Lytics audience, read with the segment scan API."""

    segment: str  # id or slug
    token: Secret
    id_field: str = "external_id"
    endpoint: Secret = field(default_factory=lambda: Secret("https://api.lytics.io"))
    page_size: int = 1000
    kind: Literal["lytics"] = "lytics"

    def describe(self) -> str:
        return f"lytics segment {self.segment}"


@dataclass(frozen=True)
class BrazeSegmentSource:
    """A Braze segment, read with the segment export (``POST /users/export/segment``).

    ``braze`` is the named ``kind: braze`` destination (its endpoint and key read the segment);
    ``identifier`` and ``alias_label`` are the cohort's, copied here at build time.
    """

    segment: str
    # A copy of config.destinations[id], taken at build time: whatever rewrites destinations
    # (e.g. operations.context.sandboxed) must rewrite this copy too, or the segment is read
    # from the old endpoint with the old key.
    braze: Destination
    identifier: IdentifierKind = "external_id"
    alias_label: str | None = None
    ready_timeout: float = 1800.0  # seconds to wait for Braze to write the archive
    poll_seconds: float = 5.0
    kind: Literal["braze_segment"] = "braze_segment"

    def describe(self) -> str:
        return f"braze segment {self.segment}"


Source = FileSource | SqlSource | LyticsSource | BrazeSegmentSource


@dataclass(frozen=True)
class Schedule:
    every: Every
    at: dt.time
    timezone: str
    date: dt.date | None = None  # once
    weekday: int | None = None  # weekly, 0 = Monday
    day: int | Literal["last"] | None = None  # monthly


@dataclass(frozen=True)
class Notify:
    email: tuple[str, ...] = ()
    webhook: Secret | None = None
    on: tuple[Literal["success", "failure", "changes", "recovery"], ...] = ("failure", "changes")


@dataclass(frozen=True)
class Guards:
    max_remove_percent: float | None = 50.0
    allow_empty: bool = False


@dataclass(frozen=True)
class Cohort:
    id: str
    name: str
    connection: str
    identifier: IdentifierKind
    source: Source
    alias_label: str | None = None
    schedule: Schedule | None = None
    notify: Notify = field(default_factory=Notify)
    guards: Guards = field(default_factory=Guards)
    backfill_existing: bool = True
    moved_from: str | None = None
    location: Location | None = None
    # The Braze segment that mirrors this cohort (read by import, plan --refresh and drift).
    braze_segment: str | None = None
    # mirror: members who leave the source are removed; additive: they are never removed.
    removal: Literal["mirror", "additive"] = "mirror"
    # The id as declared. A cohort listing several connections becomes one Cohort per
    # connection: the first keeps the declared id, the others are `id@connection`.
    declared: str | None = None

    @property
    def declared_id(self) -> str:
        """The id written in the YAML: what destinations see (remote id, Lytics map key)."""
        return self.declared or self.id


@dataclass(frozen=True)
class Config:
    version: int
    root: Path  # the directory or file given with -c
    files: tuple[Path, ...]
    digest: str  # sha256 over the files' bytes, in load order
    state: StateConfig
    destinations: Mapping[str, Destination]
    connections: Mapping[str, Connection]
    cohorts: Mapping[str, Cohort]

    def connection_of(self, cohort: Cohort) -> Connection:
        return self.connections[cohort.connection]

    def destination_of(self, cohort: Cohort) -> Destination:
        return self.destinations[self.connections[cohort.connection].destination]
