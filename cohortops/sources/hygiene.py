"""Identifier hygiene: the rules both diff engines apply to every desired identifier.

The Python engine applies them with :func:`classify`; the DuckDB engine applies the same rules in
SQL (:mod:`cohortops.sources.duckdb_scan`), so the character sets live here once, in forms both
can use. A rejected row never reaches Braze: it is counted per reason and the first
:data:`MAX_ISSUES` are reported with their position.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from cohortops.config.model import BrazeSegmentSource, FileSource, LyticsSource, Source
from cohortops.sources.issues import SourceIssue

MAX_ID_LENGTH = 255
MAX_ISSUES = 100

# Reason keys (stable: they appear in plan JSON as `skipped` keys) and their messages.
EMPTY = "empty"
TOO_LONG = "too_long"
CONTROL = "control_character"
BAD_TYPE = "not_string_or_integer"
BAD_JSON = "invalid_json"
NOT_OBJECT = "not_json_object"
HEADER = "repeated_header"  # a CSV row equal to the header: two exports concatenated
BLANK = "blank"  # a blank line: skipped silently, never counted
MISSING_ID = "missing_id_field"  # a Lytics profile or Braze user without the id (flagged at read)

MESSAGES: Mapping[str, str] = {
    EMPTY: "empty identifier",
    TOO_LONG: f"identifier longer than {MAX_ID_LENGTH} characters",
    CONTROL: "identifier contains a control character or line break",
    BAD_TYPE: "identifier is neither a string nor an integer",
    BAD_JSON: "line is not valid JSON",
    NOT_OBJECT: "line is not a JSON object",
    HEADER: "row repeats the header (two exports concatenated?)",
    MISSING_ID: "profile has no value in the id field",
}

# Trimmed from both ends: Python's str.isspace() set, plus the BOM and the zero-width space that
# copy-pasted identifiers carry.
WHITESPACE = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# Control characters (C0, DEL, C1) and Unicode line/paragraph separators inside an identifier.
CONTROL_CLASS = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL_RE = re.compile(CONTROL_CLASS)

# The same classes in RE2 syntax for DuckDB. SPECIAL_RE2 matches every character of WHITESPACE
# except the plain space, and every control character: a value free of them needs only a
# (cheap) space trim, which keeps the hot path fast.
CONTROL_RE2 = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]"
SPECIAL_RE2 = (
    r"[\x00-\x1f\x7f-\x{a0}\x{1680}\x{2000}-\x{200b}\x{2028}\x{2029}\x{202f}\x{205f}"
    r"\x{3000}\x{feff}]"
)

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1  # DuckDB's JSON reader keeps integers up to UBIGINT


def classify(raw: str | None) -> tuple[str | None, str | None]:
    """``(identifier, None)`` for a good value, ``(None, reason)`` for a rejected one."""
    if raw is None:
        return None, EMPTY
    value = raw.strip(WHITESPACE)
    if not value:
        return None, EMPTY
    if len(value) > MAX_ID_LENGTH:
        return None, TOO_LONG
    if _CONTROL_RE.search(value):
        return None, CONTROL
    return value, None


def scalar_to_raw(value: object) -> tuple[str | None, str | None]:
    """Map a typed scalar (JSON, SQL) to ``(raw string, None)`` or ``(None, reason)``.

    Strings stay, integers become their decimal text, UUIDs their canonical text; NULL is an
    empty identifier and anything else is rejected rather than guessed at.
    """
    if value is None or isinstance(value, str):
        return value, None
    if isinstance(value, bool):
        return None, BAD_TYPE
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return str(value), None
        return None, BAD_TYPE
    if isinstance(value, uuid.UUID):
        return str(value), None
    return None, BAD_TYPE


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def issue_where(source: Source, position: int) -> str:
    """``data/x.csv:17`` (CSV, JSONL: line), ``data/x.parquet row 17``, ``sql row 17``."""
    if isinstance(source, FileSource):
        label = display_path(source.path)
        if source.format == "parquet":
            return f"{label} row {position}"
        return f"{label}:{position}"
    if isinstance(source, LyticsSource):
        return f"lytics segment {source.segment} profile {position}"
    if isinstance(source, BrazeSegmentSource):
        return f"braze segment {source.segment} user {position}"
    return f"sql row {position}"


class IssueLog:
    """Counts rejected rows per reason and keeps the first :data:`MAX_ISSUES` located ones."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self.issues: list[SourceIssue] = []
        self.skipped: Counter[str] = Counter()

    def reject(self, position: int, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.issues) < MAX_ISSUES:
            where = issue_where(self._source, position)
            self.issues.append(SourceIssue(where=where, message=MESSAGES[reason]))


def one_line(text: str, limit: int = 300) -> str:
    """First line of a driver or reader message, shortened, for a one-line error."""
    lines = text.strip().splitlines()
    first = lines[0].strip() if lines else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
