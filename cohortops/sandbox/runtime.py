"""The sandbox's shared state: backend, counters, limiter, faults, persistence.

Endpoints run on the server's event loop; handle methods (``SandboxServer.state()`` and friends)
may run on another thread, so every read or write of the model happens under ``lock``. The lock
is never held across an ``await``.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from cohortops.sandbox.backend import Backend
from cohortops.sandbox.config import SandboxConfig, SandboxError
from cohortops.sandbox.counters import Counters
from cohortops.sandbox.faults import FaultInjector, adjustable, adjusted
from cohortops.sandbox.lytics_model import LyticsModel, parse_audience
from cohortops.sandbox.profile_backend import FullBackend
from cohortops.sandbox.ratelimit import FixedWindowLimiter
from cohortops.sandbox.seeds import parse_seed, read_users_file
from cohortops.sandbox.segments import SegmentRegistry
from cohortops.sandbox.sink_backend import SinkBackend

STATE_VERSION = 1
Clock = Callable[[], float]


class Sandbox:
    def __init__(self, config: SandboxConfig, clock: Clock = time.time) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.backend: Backend = self._new_backend()
        self.counters = Counters()
        self.segments = SegmentRegistry()
        self.settings = config  # the config with run-time fault changes applied
        self.faults = FaultInjector(self.settings)
        self.limiter: FixedWindowLimiter | None = None
        self.lytics = self._new_lytics()
        self._apply_settings(self.settings)
        if config.state_file is not None and config.state_file.exists():
            self._load(config.state_file)
        elif config.users_file is not None:
            self.backend.seed(read_users_file(config.users_file))

    def _new_lytics(self) -> LyticsModel:
        model = LyticsModel()
        path = self.config.lytics_audiences_file
        if path is not None:
            try:
                audiences = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                raise SandboxError(f"Cannot read Lytics audiences from {path}: {exc}.") from None
            for audience in audiences if isinstance(audiences, list) else [audiences]:
                model.add_audience(parse_audience(audience))
        return model

    def _new_backend(self) -> Backend:
        return SinkBackend() if self.config.sink else FullBackend(self.config)

    def _apply_settings(self, settings: SandboxConfig) -> None:
        self.settings = settings
        self.faults.configure(settings)
        if settings.rate_limit is None:
            self.limiter = None
        elif self.limiter is None:
            self.limiter = FixedWindowLimiter(settings.rate_limit, settings.rate_window_seconds)
        else:
            self.limiter.limit = settings.rate_limit
            self.limiter.window = settings.rate_window_seconds
        if isinstance(self.backend, FullBackend):
            self.backend.export_delay = settings.export_delay_ms / 1000.0

    # admin operations ----------------------------------------------------------------------
    def set_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._apply_settings(adjusted(self.settings, changes))
            return self.fault_settings()

    def fault_settings(self) -> dict[str, Any]:
        return adjustable(self.settings)

    def seed(self, payload: Any) -> int:
        seed = parse_seed(payload)
        with self.lock:
            return self.backend.seed(seed)

    def reset(self) -> None:
        """Back to a fresh start: empty model (plus ``users_file``), zero counters, config faults."""
        with self.lock:
            self.backend = self._new_backend()
            self.counters = Counters()
            self.segments.clear_exports()
            self.lytics = self._new_lytics()
            self.limiter = None
            self.faults = FaultInjector(self.config)
            self._apply_settings(self.config)
            if self.config.users_file is not None:
                self.backend.seed(read_users_file(self.config.users_file))

    def state(self, include_users: bool = True) -> dict[str, Any]:
        with self.lock:
            return self.backend.state(include_users)

    def counters_snapshot(self) -> dict[str, Any]:
        with self.lock:
            snapshot = self.counters.snapshot()
            snapshot["user_count"] = self.backend.user_count()
            return snapshot

    # persistence ---------------------------------------------------------------------------
    def save(self) -> Path:
        path = self.config.state_file
        if path is None:
            raise SandboxError(
                "The sandbox has no state file to save to.", hint="Start it with a state file."
            )
        with self.lock:
            data = orjson.dumps(
                {
                    "version": STATE_VERSION,
                    "mode": self.backend.mode,
                    **self.backend.dump(),
                    "lytics": self.lytics.dump(),
                }
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _load(self, path: Path) -> None:
        try:
            data = orjson.loads(path.read_bytes())
            if data.get("version") != STATE_VERSION or data.get("mode") != self.backend.mode:
                raise ValueError("written by another version or mode")
            self.backend.load(data)
            if "lytics" in data:
                self.lytics.load(data["lytics"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SandboxError(
                f"Cannot load the sandbox state file {path}: {exc}.",
                hint="Delete it to start empty, or point the sandbox at another file.",
            ) from None
