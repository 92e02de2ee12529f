"""Reading Braze response bodies: partial-error mapping and quotable error text."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from cohortops.braze.errors import BrazeNotAcknowledgedError, RequestContext
from cohortops.braze.requests import AttributeBatch, BatchResult
from cohortops.http.masking import mask

_MAX_QUOTE = 300
_REDACTED = "[redacted]"
UNATTRIBUTED = "Braze reported an error it did not attribute to an object"


_EXCERPT = 60
# Count fields Braze returns per endpoint; when present they must be non-negative integers.
_COUNT_FIELDS = ("attributes_processed", "aliases_processed")


def json_body(content: bytes) -> object:
    """The decoded body, or None when it is empty or not JSON."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def excerpt(content: bytes, secrets: Iterable[str]) -> str:
    """The first bytes of a body for an error message: printable, secrets masked, short."""
    head = content[: _EXCERPT * 4].decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in head)
    text = " ".join(redact(text, secrets).split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT or len(content) > _EXCERPT * 4 else "")


def acknowledgement(
    status: int,
    content_type: str | None,
    content: bytes,
    ctx: RequestContext,
    secrets: Iterable[str],
) -> dict[str, object]:
    """Braze's 2xx body (a JSON object with ``"message": "success"``), or raise.

    Any other 2xx (HTML from a proxy or captive portal, an empty body, JSON of another shape)
    is not an acknowledgement: nothing of the request is recorded, the run stops.
    """
    body = json_body(content)
    if isinstance(body, dict):
        message = body.get("message")
        counts_ok = all(
            isinstance(body.get(f), int) and not isinstance(body.get(f), bool) and body[f] >= 0
            for f in _COUNT_FIELDS
            if f in body
        )
        if isinstance(message, str) and message.strip().lower() == "success" and counts_ok:
            return body
    kind = (content_type or "no content type").split(";")[0].strip() or "no content type"
    shown = excerpt(content, secrets)
    first = f", first bytes: {shown!r}" if shown else ", empty body"
    raise BrazeNotAcknowledgedError(
        f"{ctx.method_path} for destination {ctx.destination_id} answered {status} {kind}"
        f"{first}: not Braze's acknowledgement, so nothing of this request was recorded.",
        hint=f"Check the endpoint URL {ctx.base_url}: a proxy, captive portal or another "
        "service answered instead of Braze.",
        status=status,
        path=ctx.method_path,
        destination_id=ctx.destination_id,
    )


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
    batch: AttributeBatch, body: dict[str, object], secrets: Iterable[str]
) -> BatchResult[AttributeBatch]:
    """Map a 2xx ``/users/track`` body onto the batch's ids.

    Each ``errors[]`` entry with ``input_array`` "attributes" and an index in range fails that
    one id (reason: Braze's ``type`` text, redacted, never parsed). An entry that cannot be mapped fails
    the whole batch, because recording a member Braze may not hold is worse than re-sending.
    """
    errors = body.get("errors")
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
