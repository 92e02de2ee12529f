"""The recorded settings of a cohort and the readable difference between two of them.

Settings are a JSON-safe, secret-free snapshot of a cohort's configuration, stored in the state at
every apply and compared at the next plan. Secrets appear only as the names of the environment
variables that hold them, and file paths relative to the configuration root, so that the same
repository checked out elsewhere (a CI runner) does not show spurious changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from cohortops.config.model import (
    AttributeDelivery,
    BrazeSegmentSource,
    Cohort,
    Config,
    FileSource,
    LyticsSource,
    Notify,
    Schedule,
    Secret,
)

# Settings that name where members live in Braze: changing one in place would leave the old
# memberships behind and record members Braze never got.
IDENTITY_KEYS: tuple[tuple[str, ...], ...] = (
    ("connection",),
    ("destination",),
    ("delivery", "method"),
    ("delivery", "attribute"),
    ("partner",),
    ("identifier",),
    ("alias_label",),
)
_MISSING = object()


BASELINE_PENDING = "baseline_pending"
"""Recorded-settings flag: a ``backfill_existing: false`` baseline was started, not finished."""


def recorded_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Recorded settings as comparable with :func:`cohort_settings` (bookkeeping flags removed)."""
    return {k: v for k, v in settings.items() if k != BASELINE_PENDING}


def cohort_settings(config: Config, cohort: Cohort) -> dict[str, Any]:
    """JSON-safe, secret-free snapshot of ``cohort`` as recorded in the state and diffed."""
    connection = config.connection_of(cohort)
    delivery: dict[str, Any]
    if isinstance(connection.delivery, AttributeDelivery):
        delivery = {
            "method": "attribute",
            "attribute": connection.delivery.attribute,
            "create_missing_users": connection.delivery.create_missing_users,
            "max_array_length": connection.delivery.max_array_length,
        }
    else:
        delivery = {"method": "cohort_import"}
    destination = config.destinations.get(connection.destination)
    if destination is not None and destination.kind == "lytics":
        delivery |= {"lytics_stream": destination.stream, "lytics_id_field": destination.id_field}
    return {
        "remote_id": cohort.declared_id,
        "name": cohort.name,
        "connection": connection.id,
        "destination": connection.destination,
        "partner": connection.partner,
        "delivery": delivery,
        "identifier": cohort.identifier,
        "alias_label": cohort.alias_label,
        "source": _source(config, cohort),
        "schedule": _schedule(cohort.schedule),
        "notify": _notify(cohort.notify),
        "guards": {
            "max_remove_percent": _number(cohort.guards.max_remove_percent),
            "allow_empty": cohort.guards.allow_empty,
        },
        "backfill_existing": cohort.backfill_existing,
        # Only when not the default, so states recorded before the key existed show no change.
        **({"removal": cohort.removal} if cohort.removal != "mirror" else {}),
    }


def _number(value: float | None) -> float | int | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _env(secret: Secret | None) -> list[str]:
    return list(secret.env_names) if secret is not None else []


def _source(config: Config, cohort: Cohort) -> dict[str, Any]:
    source = cohort.source
    if isinstance(source, FileSource):
        return {
            "kind": "file",
            "path": _relative(config, source.path),
            "format": source.format,
            "column": source.column,
            "delimiter": source.delimiter,
            "header": source.header,
        }
    if isinstance(source, LyticsSource):
        return {
            "kind": "lytics",
            "segment": source.segment,
            "id_field": source.id_field,
            "token_env": _env(source.token),
        }
    if isinstance(source, BrazeSegmentSource):
        return {"kind": "braze_segment", "destination": source.braze.id, "segment": source.segment}
    return {
        "kind": "sql",
        "url_env": _env(source.url),
        "query": source.query,
        "column": source.column,
    }


def _relative(config: Config, path: PurePath) -> str:
    root = PurePath(config.root)  # absolute: the loader resolves it
    base = root.parent if root.suffix in (".yaml", ".yml") else root
    if path.is_absolute() and path.is_relative_to(base):
        return path.relative_to(base).as_posix()
    return path.as_posix()


def _schedule(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "every": schedule.every,
        "at": schedule.at.strftime("%H:%M"),
        "timezone": schedule.timezone,
        "date": schedule.date.isoformat() if schedule.date else None,
        "weekday": schedule.weekday,
        "day": schedule.day,
    }


def _notify(notify: Notify) -> dict[str, Any]:
    return {
        "email": list(notify.email),
        "webhook_env": _env(notify.webhook),
        "webhook": notify.webhook is not None,
        "on": list(notify.on),
    }


def lookup(settings: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` in a settings mapping, or the ``_MISSING`` sentinel."""
    node: Any = settings
    for key in path:
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if not in_list and not (isinstance(node, Mapping) and key in node):
            return _MISSING
        node = node[key]
    return node


def identity_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Identity settings that differ; a key absent from the old record is not a change."""
    changed = []
    for path in IDENTITY_KEYS:
        if path == ("partner",) and lookup(new, ("delivery", "method")) == "attribute":
            continue  # the partner is only a label for attribute delivery
        before, after = lookup(old, path), lookup(new, path)
        if before is not _MISSING and before != after:
            changed.append(f"{'.'.join(path)} ({_show(before)} → {_show(after)})")
    return changed


def settings_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """Readable lines ``~ a.b: old → new``, ``+ a.b: new``, ``- a.b: old``, sorted by path.

    Lists are shown whole (``notify.email: ["a"] → ["a", "b"]``), not item by item.
    """
    from deepdiff import DeepDiff  # ~0.06 s to import; only settings changes need it

    diff = DeepDiff(dict(old), dict(new), view="tree")
    paths: dict[tuple[str | int, ...], None] = {}
    for levels in diff.values():
        for level in levels:
            raw = level.path(output_format="list")
            cut = next((i for i, key in enumerate(raw) if isinstance(key, int)), len(raw))
            paths[tuple(raw[:cut])] = None
    lines = []
    for path in sorted(paths, key=lambda p: [str(k) for k in p]):
        before, after = lookup(old, path), lookup(new, path)
        name = ".".join(str(k) for k in path)
        if before is _MISSING:
            lines.append(f"+ {name}: {_show(after)}")
        elif after is _MISSING:
            lines.append(f"- {name}: {_show(before)}")
        elif before != after:
            lines.append(f"~ {name}: {_show(before)} → {_show(after)}")
    return tuple(lines)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(none)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(_number(value) if isinstance(value, float) else value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
