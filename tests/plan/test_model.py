"""The plan's closed vocabularies: the tuples the plan file checks against match the types."""

from __future__ import annotations

from typing import get_args

from cohortops.config.model import (
    DELIVERY_METHODS,
    IDENTIFIER_KINDS,
    DeliveryMethod,
    IdentifierKind,
)
from cohortops.plan.model import CHANGE_KINDS, SEVERITIES, ChangeKind, Severity


def test_value_tuples_match_their_literal_types() -> None:
    assert get_args(ChangeKind) == CHANGE_KINDS
    assert get_args(Severity) == SEVERITIES
    assert get_args(DeliveryMethod) == DELIVERY_METHODS
    assert get_args(IdentifierKind) == IDENTIFIER_KINDS
