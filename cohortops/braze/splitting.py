"""Split a stream of member ids into request-sized batches, lazily and in input order.

Limits respected per batch: objects per ``/users/track`` request (default 75), identifiers
per cohort import request (1,000) and an estimated JSON body size. Identifiers Braze would
ignore (empty, longer than 255 characters, not a string) never go into a batch; they are
collected in ``Batches.invalid`` with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic

import orjson

from cohortops.braze.payloads import track_object
from cohortops.braze.requests import (
    MAX_STRING_LENGTH,
    AttributeBatch,
    BatchT,
    CohortImportBatch,
    IdentifierKind,
)
from cohortops.membership import MemberOp

DEFAULT_MAX_OBJECTS = 75
MAX_COHORT_IDS = 1000
DEFAULT_MAX_PAYLOAD_BYTES = 1_000_000
"""Braze documents no body limit; this keeps even 1,000 long aliases well inside any proxy's."""

# Partner keys of unknown length travel in cohort import bodies; reserve room for them.
_COHORT_ENVELOPE_BYTES = 1024
_TRACK_ENVELOPE_BYTES = len(b'{"attributes":[]}')


def _json_len(text: str) -> int:
    return len(orjson.dumps(text))


def invalid_reason(member_id: object) -> str | None:
    """Why Braze would ignore or reject this identifier, or None when it is fine."""
    if not isinstance(member_id, str):
        return f"not a string ({type(member_id).__name__})"
    if not member_id:
        return "empty identifier"
    if len(member_id) > MAX_STRING_LENGTH:
        return f"longer than {MAX_STRING_LENGTH} characters ({len(member_id)})"
    return None


class Batches(Generic[BatchT]):
    """A single-pass, lazy sequence of batches.

    ``invalid`` holds ``(id, reason)`` for every rejected identifier seen so far; it is
    complete once iteration has finished.
    """

    def __init__(
        self,
        ids: Iterable[str],
        make: Callable[[tuple[str, ...]], BatchT],
        *,
        max_ids: int,
        max_payload_bytes: int,
        envelope_bytes: int,
        per_id_bytes: int,
    ) -> None:
        if max_ids < 1:
            raise ValueError("max_ids must be at least 1")
        if max_payload_bytes < envelope_bytes + per_id_bytes + 2 + 6 * MAX_STRING_LENGTH:
            raise ValueError(f"max_payload_bytes {max_payload_bytes} cannot hold one identifier")
        self.invalid: list[tuple[str, str]] = []
        self._ids = ids
        self._make: Callable[[tuple[str, ...]], BatchT] = make
        self._max_ids = max_ids
        self._max_bytes = max_payload_bytes
        self._envelope = envelope_bytes
        self._per_id = per_id_bytes
        self._started = False

    def __iter__(self) -> Iterator[BatchT]:
        if self._started:
            raise RuntimeError("Batches can be iterated only once")
        self._started = True
        return self._generate()

    def _generate(self) -> Iterator[BatchT]:
        pending: list[str] = []
        size = self._envelope
        for member_id in self._ids:
            reason = invalid_reason(member_id)
            if reason is not None:
                self.invalid.append((str(member_id), reason))
                continue
            cost = self._per_id + _json_len(member_id)
            if pending and (len(pending) >= self._max_ids or size + cost > self._max_bytes):
                yield self._make(tuple(pending))
                pending = []
                size = self._envelope
            pending.append(member_id)
            size += cost
        if pending:
            yield self._make(tuple(pending))


def attribute_batches(
    ids: Iterable[str],
    *,
    attribute: str,
    value: str,
    action: MemberOp,
    identifier: IdentifierKind,
    update_existing_only: bool,
    alias_label: str | None = None,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    tag: object = None,
) -> Batches[AttributeBatch]:
    """``/users/track`` batches of at most ``max_objects`` users, in input order."""

    def make(chunk: tuple[str, ...]) -> AttributeBatch:
        return AttributeBatch(
            attribute=attribute,
            value=value,
            action=action,
            identifier=identifier,
            alias_label=alias_label,
            ids=chunk,
            update_existing_only=update_existing_only,
            tag=tag,
        )

    # Validates the settings now rather than at the first batch.
    probe = make(("x",))
    # One object's bytes besides its id (which _json_len counts), plus the separating comma.
    per_id = len(orjson.dumps(track_object(probe, ""))) - 2 + 1
    return Batches(
        ids,
        make,
        max_ids=max_objects,
        max_payload_bytes=max_payload_bytes,
        envelope_bytes=_TRACK_ENVELOPE_BYTES,
        per_id_bytes=per_id,
    )


def cohort_import_batches(
    ids: Iterable[str],
    *,
    partner: str,
    cohort_id: str,
    action: MemberOp,
    identifier: IdentifierKind,
    alias_label: str | None = None,
    max_ids: int = MAX_COHORT_IDS,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    tag: object = None,
) -> Batches[CohortImportBatch]:
    """Cohort import batches of at most ``max_ids`` (≤ 1,000) identifiers, in input order."""
    if max_ids > MAX_COHORT_IDS:
        raise ValueError(f"Braze accepts at most {MAX_COHORT_IDS} identifiers per cohort request")

    def make(chunk: tuple[str, ...]) -> CohortImportBatch:
        return CohortImportBatch(
            partner=partner,
            cohort_id=cohort_id,
            action=action,
            identifier=identifier,
            alias_label=alias_label,
            ids=chunk,
            tag=tag,
        )

    make(("x",))
    if identifier == "user_alias":
        label = alias_label or ""
        per_id = len(orjson.dumps({"alias_name": "", "alias_label": label})) - 2 + 1
    else:
        per_id = 1
    return Batches(
        ids,
        make,
        max_ids=max_ids,
        max_payload_bytes=max_payload_bytes,
        envelope_bytes=_COHORT_ENVELOPE_BYTES + _json_len(cohort_id) + _json_len(partner),
        per_id_bytes=per_id,
    )
