"""The sandbox's Lytics account: seeded audiences (scanned page by page) and collected profiles.

Audiences are kept compactly: explicit profiles, or a range of generated ones
(``{"prefix": "user_", "start": 0, "count": 2000000, "width": 7}``) that costs nothing until
scanned, so a 2M-member audience does not fill the sandbox's memory. ``missing_every: N`` drops
the id field from every Nth generated profile (to exercise skipped rows).

Collected records merge into profiles keyed by their identity: the first field of
:data:`IDENTITY_FIELDS` a record holds. Map values merge key by key; other values replace.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass, field
from typing import Any

from cohortops.sandbox.config import SandboxError

IDENTITY_FIELDS = ("external_id", "braze_id", "user_id", "email", "_uid")
MAX_PAGE = 10_000


@dataclass
class Audience:
    id: str
    slug: str
    id_field: str = "external_id"
    profiles: list[dict[str, Any]] = field(default_factory=list)
    prefix: str = ""
    start: int = 0
    count: int = 0
    width: int = 0
    missing_every: int = 0

    @property
    def size(self) -> int:
        return len(self.profiles) if self.profiles else self.count

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        if self.profiles:
            return self.profiles[offset : offset + limit]
        end = min(self.count, offset + limit)
        out: list[dict[str, Any]] = []
        for i in range(offset, end):
            if self.missing_every and (i + 1) % self.missing_every == 0:
                out.append({"segments": [self.slug]})
            else:
                member = f"{self.prefix}{self.start + i:0{self.width}d}"
                out.append({self.id_field: member, "segments": [self.slug]})
        return out


def parse_audience(body: Any) -> Audience:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise SandboxError("Send an audience as {id, slug?, id_field?, profiles | range}.")
    audience = Audience(
        id=body["id"],
        slug=str(body.get("slug") or body["id"]),
        id_field=body.get("id_field") or "external_id",
    )
    if "profiles" in body:
        profiles = body["profiles"]
        if not isinstance(profiles, list) or not all(isinstance(p, dict) for p in profiles):
            raise SandboxError("`profiles` must be a list of JSON objects.")
        audience.profiles = profiles
    elif "ids" in body:
        audience.profiles = [
            {audience.id_field: i, "segments": [audience.slug]} for i in body["ids"]
        ]
    elif isinstance(body.get("range"), dict):
        r = body["range"]
        audience.prefix = str(r.get("prefix", ""))
        audience.start = int(r.get("start", 0))
        audience.count = int(r["count"])
        audience.width = int(r.get("width", 0))
        audience.missing_every = int(r.get("missing_every", 0))
    else:
        raise SandboxError("An audience needs `profiles`, `ids` or `range`.")
    return audience


class LyticsModel:
    def __init__(self) -> None:
        self.audiences: dict[str, Audience] = {}
        self.profiles: dict[str, dict[str, dict[str, Any]]] = {}  # stream -> identity -> fields
        self.rejected = 0
        self.bulk_uploads = 0

    def add_audience(self, audience: Audience) -> None:
        self.audiences[audience.id] = audience
        self.audiences[audience.slug] = audience

    def scan(self, segment: str, start: str | None, limit: int) -> dict[str, Any] | None:
        audience = self.audiences.get(segment)
        if audience is None:
            return None
        offset = int(start[len("p") :]) if start and start.startswith("p") else 0
        limit = max(1, min(limit, MAX_PAGE))
        data = audience.page(offset, limit)
        after = offset + len(data)
        return {
            "data": data,
            "total": audience.size,
            "_next": f"p{after}" if after < audience.size else "",
            "first": offset == 0,
        }

    def collect(self, stream: str, records: list[Any]) -> tuple[int, int]:
        profiles = self.profiles.setdefault(stream, {})
        accepted = rejected = 0
        for rec in records:
            key = _identity(rec)
            if key is None:
                rejected += 1
                continue
            profile = profiles.setdefault(key, {})
            for name, value in rec.items():
                old = profile.get(name)
                if isinstance(value, dict) and isinstance(old, dict):
                    old.update(value)
                else:
                    profile[name] = dict(value) if isinstance(value, dict) else value
            accepted += 1
        self.rejected += rejected
        return accepted, rejected

    def collect_csv(self, stream: str, text: str) -> tuple[int, int]:
        self.bulk_uploads += 1
        records: list[Any] = []
        for row in csv.DictReader(io.StringIO(text)):
            rec: dict[str, Any] = {}
            for name, value in row.items():
                if name is None:
                    continue
                if "." in name:
                    outer, inner = name.split(".", 1)
                    rec.setdefault(outer, {})[inner] = value.lower() == "true"
                else:
                    rec[name] = value
            records.append(rec)
        return self.collect(stream, records)

    def dump(self) -> dict[str, Any]:
        """Everything, JSON-ready, for the sandbox's state file."""
        audiences = {id(a): a for a in self.audiences.values()}.values()
        return {
            "audiences": [dataclasses.asdict(a) for a in audiences],
            "profiles": self.profiles,
            "rejected": self.rejected,
            "bulk_uploads": self.bulk_uploads,
        }

    def load(self, data: dict[str, Any]) -> None:
        for raw in data.get("audiences", []):
            self.add_audience(Audience(**raw))
        self.profiles = data.get("profiles", {})
        self.rejected = int(data.get("rejected", 0))
        self.bulk_uploads = int(data.get("bulk_uploads", 0))

    def state(self) -> dict[str, Any]:
        """Audiences, and per stream/map field/key the identities whose value is true."""
        members: dict[str, dict[str, dict[str, list[str]]]] = {}
        for stream, profiles in self.profiles.items():
            fields: dict[str, dict[str, list[str]]] = {}
            for ident, profile in profiles.items():
                for name, value in profile.items():
                    if isinstance(value, dict):
                        for key, flag in value.items():
                            keys = fields.setdefault(name, {}).setdefault(key, [])
                            if flag is True:
                                keys.append(ident)
            members[stream] = {f: {k: sorted(v) for k, v in ks.items()} for f, ks in fields.items()}
        audiences = {a.id: {"slug": a.slug, "size": a.size} for a in self.audiences.values()}
        return {
            "audiences": audiences,
            "profiles": {s: len(p) for s, p in self.profiles.items()},
            "members": members,
            "rejected": self.rejected,
            "bulk_uploads": self.bulk_uploads,
        }


def _identity(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    for name in IDENTITY_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value:
            return value
    return None
