"""Progress of an apply: a rich bar with members/s and ETA on a terminal, plain lines in CI."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import TaskID


class Progress:
    def __init__(
        self, *, enabled: bool = True, stream: TextIO | None = None, every: float = 5.0
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.every = every
        self.total = 0
        self.done = 0
        self._bar: Bar | None = None
        self._task: TaskID | None = None
        self._started = 0.0
        self._last = 0.0

    def start(self, total: int) -> None:
        self.total, self.done = total, 0
        self._started = self._last = time.monotonic()
        if not self.enabled or total == 0:
            return
        if self.stream.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            from rich.progress import Progress as Bar

            del TransferSpeedColumn  # bytes/s wording; members/s is rendered in the description
            bar = self._bar = Bar(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            bar.start()
            self._task = bar.add_task("members", total=total)

    def advance(self, n: int) -> None:
        self.done += n
        if not self.enabled or self.total == 0:
            return
        now = time.monotonic()
        rate = self.done / max(now - self._started, 1e-9)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=n, description=f"{rate:,.0f} members/s")
        elif now - self._last >= self.every:
            self._last = now
            left = (self.total - self.done) / rate if rate else 0.0
            print(
                f"apply: {self.done:,}/{self.total:,} members ({rate:,.0f}/s, ~{left:,.0f} s left)",
                file=self.stream,
                flush=True,
            )

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
