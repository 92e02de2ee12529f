"""The sandbox's start-up settings (frozen) and the error it raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cohortops.errors import CohortopsError

TRACK = "users.track"
EXPORT_IDS = "users.export.ids"
ALIAS_NEW = "users.alias.new"
DELETE = "users.delete"
EXPORT_SEGMENT = "users.export.segment"
ALL_PERMISSIONS: frozenset[str] = frozenset({TRACK, EXPORT_IDS, ALIAS_NEW, DELETE, EXPORT_SEGMENT})

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_PARTNER_KEY = "sandbox-partner-key"
DEFAULT_CLIENT_SECRET = "sandbox-data-import-key"
DEFAULT_LYTICS_TOKEN = "sandbox-lytics-token"


class SandboxError(CohortopsError):
    """The sandbox could not start, load or save its data."""


def _default_keys() -> Mapping[str, frozenset[str]]:
    return MappingProxyType({DEFAULT_API_KEY: ALL_PERMISSIONS})


def _empty_overrides() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the sandbox needs at start; fault settings can change later at run time.

    Secrets are kept out of ``repr`` so a config can be logged safely.
    """

    api_keys: Mapping[str, frozenset[str]] = field(default_factory=_default_keys, repr=False)
    partner_api_keys: frozenset[str] = field(default=frozenset({DEFAULT_PARTNER_KEY}), repr=False)
    client_secrets: frozenset[str] = field(default=frozenset({DEFAULT_CLIENT_SECRET}), repr=False)
    # None enables every partner slug; otherwise only these `{partner}` path segments.
    partners: frozenset[str] | None = None
    max_objects_per_request: int = 75
    max_array_length: int = 25
    array_length_overrides: Mapping[str, int] = field(default_factory=_empty_overrides)
    max_ids_per_export: int = 50
    max_ids_per_cohort_request: int = 1000
    rate_limit: int | None = None
    rate_window_seconds: float = 3.0
    send_retry_after: bool = False
    latency_ms: float = 0
    latency_jitter_ms: float = 0
    fault_rate: float = 0.0
    drop_after_apply_rate: float = 0.0
    burst_429_rate: float = 0.0
    burst_429_length: int = 1
    locked_423_rate: float = 0.0
    export_delay_ms: float = 0
    # How long after POST /users/export/segment its download URL starts answering 200.
    segment_export_ready_ms: float = 0
    seed: int = 0
    users_file: Path | None = None
    state_file: Path | None = None
    sink: bool = False
    lytics_tokens: frozenset[str] = field(default=frozenset({DEFAULT_LYTICS_TOKEN}), repr=False)
    lytics_audiences_file: Path | None = None  # a JSON list of audiences, seeded at start/reset

    def __post_init__(self) -> None:
        problems = []
        for name in (
            "fault_rate",
            "drop_after_apply_rate",
            "burst_429_rate",
            "locked_423_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name} must be between 0 and 1")
        for name in (
            "latency_ms",
            "latency_jitter_ms",
            "export_delay_ms",
            "segment_export_ready_ms",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        for name in (
            "max_objects_per_request",
            "max_array_length",
            "max_ids_per_export",
            "max_ids_per_cohort_request",
            "burst_429_length",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if self.rate_limit is not None and self.rate_limit < 1:
            problems.append("rate_limit must be at least 1 (or None for no limit)")
        if self.rate_window_seconds <= 0:
            problems.append("rate_window_seconds must be positive")
        if any(v < 1 for v in self.array_length_overrides.values()):
            problems.append("array_length_overrides values must be at least 1")
        if problems:
            raise SandboxError(
                "Invalid sandbox settings: " + "; ".join(problems) + ".",
                hint="Fix the values and start the sandbox again.",
            )
