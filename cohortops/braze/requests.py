"""What one Braze write request carries, and what came of it.

A batch is exactly one HTTP request: an ``AttributeBatch`` is one ``/users/track`` call, a
``CohortImportBatch`` one ``/partners/{partner}/cohorts/users`` call. Splitting member lists
into batches lives in ``batching.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from cohortops.errors import BrazeError
from cohortops.membership import MEMBER_OPS, MemberOp

IdentifierKind = Literal["external_id", "user_alias", "device_id", "braze_id"]

MAX_STRING_LENGTH = 255
"""Braze ignores (while answering 2xx) keys and string values longer than this."""

_ATTRIBUTE_IDENTIFIERS = frozenset({"external_id", "user_alias", "braze_id"})
_COHORT_IDENTIFIERS = frozenset({"external_id", "user_alias", "device_id"})


def _check_common(action: str, identifier: str, alias_label: str | None) -> None:
    if action not in MEMBER_OPS:
        raise ValueError(f"action must be 'add' or 'remove', not {action!r}")
    if identifier == "user_alias":
        if not alias_label:
            raise ValueError("identifier 'user_alias' needs an alias_label")
        if len(alias_label) > MAX_STRING_LENGTH:
            raise ValueError(f"alias_label is longer than {MAX_STRING_LENGTH} characters")
    elif alias_label is not None:
        raise ValueError(
            f"alias_label is only valid with identifier 'user_alias', not {identifier!r}"
        )


@dataclass(frozen=True)
class AttributeBatch:
    """One ``/users/track`` request adding or removing ``value`` in the array ``attribute``.

    Every id becomes one object ``{<identifier>: id, "_update_existing_only": ...,
    attribute: {action: [value]}}`` (for ``user_alias``: ``{alias_name: id, alias_label}``).
    """

    attribute: str
    value: str
    action: MemberOp
    identifier: IdentifierKind
    alias_label: str | None
    ids: tuple[str, ...]
    update_existing_only: bool
    tag: object = None

    def __post_init__(self) -> None:
        _check_common(self.action, self.identifier, self.alias_label)
        if self.identifier not in _ATTRIBUTE_IDENTIFIERS:
            raise ValueError(
                f"/users/track cannot address users by {self.identifier!r}; "
                "use external_id, user_alias or braze_id"
            )
        for name, text in (("attribute", self.attribute), ("value", self.value)):
            if not text or len(text) > MAX_STRING_LENGTH:
                raise ValueError(f"{name} must be 1 to {MAX_STRING_LENGTH} characters long")


@dataclass(frozen=True)
class CohortImportBatch:
    """One ``/partners/{partner}/cohorts/users`` request: one change of one identifier kind."""

    partner: str
    cohort_id: str
    action: MemberOp
    identifier: IdentifierKind
    alias_label: str | None
    ids: tuple[str, ...]
    tag: object = None

    def __post_init__(self) -> None:
        _check_common(self.action, self.identifier, self.alias_label)
        if self.identifier not in _COHORT_IDENTIFIERS:
            raise ValueError(
                f"cohort import cannot address users by {self.identifier!r}; "
                "use external_id, user_alias or device_id"
            )
        if not self.partner or not self.cohort_id:
            raise ValueError("partner and cohort_id must not be empty")


Batch = AttributeBatch | CohortImportBatch
BatchT = TypeVar("BatchT", AttributeBatch, CohortImportBatch)


@dataclass(frozen=True)
class BatchResult(Generic[BatchT]):
    """The outcome of one batch. Every id of the batch is in exactly one of the two tuples.

    ``acknowledged``: Braze accepted these (safe to record in state). ``failed``: (id, reason)
    pairs that must not be recorded; they are planned again next time. ``error`` is set when
    the request failed as a whole (then ``acknowledged`` is empty); partial errors leave it None.
    """

    batch: BatchT
    acknowledged: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    error: BrazeError | None = None


@dataclass(frozen=True)
class ExportResult:
    """What ``/users/export/ids`` returned, merged over all requests of one call."""

    users: tuple[dict[str, object], ...]
    invalid_user_ids: tuple[str, ...]
