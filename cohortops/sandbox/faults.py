"""Seeded fault injection. Each fault kind draws from its own random stream and is drawn for every
request, so changing one rate never changes when the others fire, and a sequential client sees
the same faults on every run with the same seed."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from cohortops.sandbox.config import SandboxConfig, SandboxError

SERVER_ERRORS = (502, 503, 504)
KINDS = ("latency", "server_error", "burst_429", "locked_423", "drop_after_apply")


@dataclass
class FaultSettings:
    """The run-time adjustable part of the configuration (POST /_sandbox/faults)."""

    latency_ms: float = 0
    latency_jitter_ms: float = 0
    fault_rate: float = 0.0
    drop_after_apply_rate: float = 0.0
    burst_429_rate: float = 0.0
    burst_429_length: int = 1
    locked_423_rate: float = 0.0
    export_delay_ms: float = 0
    rate_limit: int | None = None
    rate_window_seconds: float = 3.0
    send_retry_after: bool = False
    seed: int = 0

    @classmethod
    def from_config(cls, config: SandboxConfig) -> FaultSettings:
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})

    def updated(self, changes: dict[str, Any]) -> FaultSettings:
        """A copy with ``changes`` applied, validated by the same rules as SandboxConfig."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise SandboxError(
                "Unknown fault settings: " + ", ".join(unknown) + ".",
                hint="Valid names: " + ", ".join(sorted(names)) + ".",
            )
        for name, value in changes.items():
            if not _type_ok(name, value):
                raise SandboxError(f"Fault setting {name} has the wrong type.")
        merged = {**asdict(self), **changes}
        SandboxConfig(**merged)  # raises SandboxError on out-of-range values
        return FaultSettings(**merged)


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
    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._burst_left = 0
        self._rngs = self._streams(settings.seed)

    @staticmethod
    def _streams(seed: int) -> dict[str, random.Random]:
        return {kind: random.Random(f"{seed}:{kind}") for kind in KINDS}

    def configure(self, settings: FaultSettings) -> None:
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
