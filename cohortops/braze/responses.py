"""Reading Braze response bodies: partial-error mapping and quotable error text."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from cohortops.braze.requests import AttributeBatch, BatchResult
from cohortops.http.masking import mask

_MAX_QUOTE = 300
_REDACTED = "[redacted]"
UNATTRIBUTED = "Braze reported an error it did not attribute to an object"


def json_body(content: bytes) -> object:
    """The decoded body, or None when it is empty or not JSON (any 2xx still counts)."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced (Braze could echo what it was sent)."""
    return mask(text, secrets, _REDACTED)


def braze_message(content: bytes, secrets: Iterable[str]) -> str | None:
    """Braze's ``message`` (or a short raw excerpt), redacted and shortened for error text."""
    body = json_body(content)
    text: str | None = None
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str):
            text = message
    elif content:
        text = content[:_MAX_QUOTE].decode("utf-8", "replace")
    if not text:
        return None
    text = " ".join(redact(text, secrets).split())
    return text[:_MAX_QUOTE]


def track_result(
    batch: AttributeBatch, content: bytes, secrets: Iterable[str]
) -> BatchResult[AttributeBatch]:
    """Map a 2xx ``/users/track`` body onto the batch's ids.

    Each ``errors[]`` entry with ``input_array`` "attributes" and an index in range fails that
    one id (reason: Braze's ``type`` text, redacted, never parsed). An entry that cannot be mapped fails
    the whole batch, because recording a member Braze may not hold is worse than re-sending.
    """
    body = json_body(content)
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return BatchResult(batch, batch.ids, ())
    failed: dict[int, str] = {}
    unattributed = False
    size = len(batch.ids)
    for entry in errors:
        index = entry.get("index") if isinstance(entry, dict) else None
        array = entry.get("input_array", "attributes") if isinstance(entry, dict) else None
        if (
            array != "attributes"
            or not isinstance(index, int)
            or isinstance(index, bool)
            or not 0 <= index < size
        ):
            unattributed = True
            continue
        reason = entry.get("type") if isinstance(entry, dict) else None
        if isinstance(reason, str) and reason:
            reason = redact(reason, secrets)[:_MAX_QUOTE]
        else:
            reason = "rejected"
        failed.setdefault(index, reason)
    if unattributed:
        return BatchResult(
            batch,
            (),
            tuple((i, failed.get(n, UNATTRIBUTED)) for n, i in enumerate(batch.ids)),
        )
    acknowledged = tuple(i for n, i in enumerate(batch.ids) if n not in failed)
    return BatchResult(
        batch, acknowledged, tuple((batch.ids[n], r) for n, r in sorted(failed.items()))
    )
