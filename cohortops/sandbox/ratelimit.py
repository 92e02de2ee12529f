"""Fixed, clock-aligned rate-limit windows shared by every key of the workspace."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # UTC epoch seconds when the current window ends
    retry_after: int  # whole seconds until then, at least 1


class FixedWindowLimiter:
    """Windows start at multiples of ``window`` seconds since the epoch, like Braze's."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._index = -1
        self._count = 0

    def hit(self, now: float) -> RateDecision:
        index = math.floor(now / self.window)
        if index != self._index:
            self._index = index
            self._count = 0
        self._count += 1
        end = (index + 1) * self.window
        return RateDecision(
            allowed=self._count <= self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - self._count),
            reset=math.ceil(end),
            retry_after=max(1, math.ceil(end - now)),
        )

    def peek(self, now: float) -> RateDecision:
        """The window's figures without counting a request (for injected 429s)."""
        index = math.floor(now / self.window)
        used = self._count if index == self._index else 0
        end = (index + 1) * self.window
        return RateDecision(
            allowed=False,
            limit=self.limit,
            remaining=max(0, self.limit - used),
            reset=math.ceil(end),
            retry_after=max(1, math.ceil(end - now)),
        )
