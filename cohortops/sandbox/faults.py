"""Seeded fault injection. Each fault kind draws from its own random stream and is drawn for every
request, so changing one rate never changes when the others fire, and a sequential client sees
the same faults on every run with the same seed."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from cohortops.sandbox.config import SandboxConfig, SandboxError

SERVER_ERRORS = (502, 503, 504)
KINDS = ("latency", "server_error", "burst_429", "locked_423", "drop_after_apply")


ADJUSTABLE = (
    "latency_ms",
    "latency_jitter_ms",
    "fault_rate",
    "drop_after_apply_rate",
    "burst_429_rate",
    "burst_429_length",
    "locked_423_rate",
    "export_delay_ms",
    "segment_export_ready_ms",
    "rate_limit",
    "rate_window_seconds",
    "send_retry_after",
    "seed",
)
"""The part of a SandboxConfig that POST /_sandbox/faults may change at run time."""


def adjustable(config: SandboxConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in ADJUSTABLE}


def adjusted(config: SandboxConfig, changes: dict[str, Any]) -> SandboxConfig:
    """``config`` with run-time ``changes``, validated by the same rules as at start-up."""
    unknown = sorted(set(changes) - set(ADJUSTABLE))
    if unknown:
        raise SandboxError(
            "Unknown fault settings: " + ", ".join(unknown) + ".",
            hint="Valid names: " + ", ".join(sorted(ADJUSTABLE)) + ".",
        )
    for name, value in changes.items():
        if not _type_ok(name, value):
            raise SandboxError(f"Fault setting {name} has the wrong type.")
    return dataclasses.replace(config, **changes)  # __post_init__ checks the ranges


def _type_ok(name: str, value: Any) -> bool:
    if name == "send_retry_after":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if name == "rate_limit":
        return value is None or isinstance(value, int)
    if name in ("burst_429_length", "seed"):
        return isinstance(value, int)
    return isinstance(value, int | float)


@dataclass(frozen=True, slots=True)
class Draw:
    """The faults for one request, decided before it is handled."""

    burst_429: bool
    server_error: int | None
    locked_423: bool
    drop_after_apply: bool


class FaultInjector:
    def __init__(self, settings: SandboxConfig) -> None:
        self.settings = settings
        self._burst_left = 0
        self._rngs = self._streams(settings.seed)

    @staticmethod
    def _streams(seed: int) -> dict[str, random.Random]:
        return {kind: random.Random(f"{seed}:{kind}") for kind in KINDS}

    def configure(self, settings: SandboxConfig) -> None:
        reseed = settings.seed != self.settings.seed
        self.settings = settings
        if reseed:
            self._rngs = self._streams(settings.seed)
            self._burst_left = 0

    def latency(self) -> float:
        """Seconds to wait before handling the request."""
        s = self.settings
        delay = s.latency_ms
        if s.latency_jitter_ms > 0:
            delay += self._rngs["latency"].uniform(0, s.latency_jitter_ms)
        return delay / 1000.0

    def server_error(self) -> int | None:
        rate = self.settings.fault_rate
        rng = self._rngs["server_error"]
        if rate > 0 and rng.random() < rate:
            return rng.choice(SERVER_ERRORS)
        return None

    def burst_429(self) -> bool:
        if self._burst_left > 0:
            self._burst_left -= 1
            return True
        rate = self.settings.burst_429_rate
        if rate > 0 and self._rngs["burst_429"].random() < rate:
            self._burst_left = self.settings.burst_429_length - 1
            return True
        return False

    def locked(self) -> bool:
        rate = self.settings.locked_423_rate
        return rate > 0 and self._rngs["locked_423"].random() < rate

    def drop_after_apply(self) -> bool:
        rate = self.settings.drop_after_apply_rate
        return rate > 0 and self._rngs["drop_after_apply"].random() < rate

    def draw(self, cohort_endpoint: bool) -> Draw:
        """Draw every kind for this request, so which faults fire for a request never depends
        on whether another kind fired first."""
        return Draw(
            burst_429=self.burst_429(),
            server_error=self.server_error(),
            locked_423=cohort_endpoint and self.locked(),
            drop_after_apply=self.drop_after_apply(),
        )
