"""Shared by the reports: times as the terminal shows them, and JSON as every command prints it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

TIME = "%Y-%m-%d %H:%M:%S"


def when(at: dt.datetime | None) -> str:
    return at.astimezone(dt.UTC).strftime(TIME) + " UTC" if at else "never"


def iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat() if at else None


def to_json(value: Any) -> str:
    """Indented, key-sorted JSON; anything not JSON-native becomes its string."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)
