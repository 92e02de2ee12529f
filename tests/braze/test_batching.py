"""Splitting member lists into request-sized batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import orjson
import pytest

from cohortops.braze import (
    DEFAULT_MAX_OBJECTS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    MAX_COHORT_IDS,
    AttributeBatch,
    Batches,
    CohortImportBatch,
    IdentifierKind,
    attribute_batches,
    cohort_import_batches,
)
from cohortops.braze.payloads import cohort_users_body, track_body
from cohortops.membership import MemberOp


def attr(
    ids: Iterable[str],
    *,
    value: str = "vip",
    action: MemberOp = "add",
    identifier: IdentifierKind = "external_id",
    alias_label: str | None = None,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    tag: object = None,
) -> Batches[AttributeBatch]:
    return attribute_batches(
        ids,
        attribute="segments",
        value=value,
        action=action,
        identifier=identifier,
        update_existing_only=True,
        alias_label=alias_label,
        max_objects=max_objects,
        max_payload_bytes=max_payload_bytes,
        tag=tag,
    )


def cohort(
    ids: Iterable[str],
    *,
    identifier: IdentifierKind = "external_id",
    alias_label: str | None = None,
    max_ids: int = MAX_COHORT_IDS,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> Batches[CohortImportBatch]:
    return cohort_import_batches(
        ids,
        partner="kubit",
        cohort_id="c1",
        action="remove",
        identifier=identifier,
        alias_label=alias_label,
        max_ids=max_ids,
        max_payload_bytes=max_payload_bytes,
    )


def test_attribute_batches_hold_75_objects_in_input_order() -> None:
    ids = [f"user_{n:09d}" for n in range(200)]
    batches = list(attr(ids, tag="t"))
    assert [len(b.ids) for b in batches] == [75, 75, 50]
    assert [i for b in batches for i in b.ids] == ids
    first = batches[0]
    assert isinstance(first, AttributeBatch)
    assert (first.attribute, first.value, first.action, first.tag) == (
        "segments",
        "vip",
        "add",
        "t",
    )
    assert first.update_existing_only is True


def test_batch_size_is_configurable() -> None:
    assert [len(b.ids) for b in attr(map(str, range(120)), max_objects=50)] == [50, 50, 20]


def test_cohort_batches_hold_1000_ids() -> None:
    batches = list(cohort(f"u{n}" for n in range(2500)))
    assert [len(b.ids) for b in batches] == [1000, 1000, 500]
    assert isinstance(batches[0], CohortImportBatch) and batches[0].action == "remove"
    with pytest.raises(ValueError):
        cohort([], max_ids=1001)


def test_invalid_ids_are_set_aside_and_never_sent() -> None:
    too_long = "x" * 256
    just_fits = "y" * 255
    batches = attr(["a", too_long, "", just_fits, 7, "b"])  # type: ignore[list-item]  # deliberately not a str
    sent = [i for b in batches for i in b.ids]
    assert sent == ["a", just_fits, "b"]
    assert [i for i, _ in batches.invalid] == [too_long, "", "7"]
    assert "255" in batches.invalid[0][1]
    assert batches.invalid[1][1] == "empty identifier"


def test_batches_are_lazy_and_single_pass() -> None:
    pulled: list[int] = []

    def ids() -> Iterator[str]:
        for n in itertools.count():
            pulled.append(n)
            yield f"u{n}"

    batches = attr(ids())
    iterator = iter(batches)
    next(iterator)
    assert len(pulled) == 76  # one look-ahead id decides where the first batch ends
    with pytest.raises(RuntimeError):
        iter(batches)


@pytest.mark.parametrize("identifier", ["external_id", "user_alias"])
def test_payload_bound_is_respected_exactly(identifier: IdentifierKind) -> None:
    label = "kubit_anon" if identifier == "user_alias" else None
    ids = [("é" * 200) + str(n) for n in range(500)]
    limit = 60_000
    batches = list(cohort(ids, identifier=identifier, alias_label=label, max_payload_bytes=limit))
    assert len(batches) > 1
    assert [i for b in batches for i in b.ids] == ids
    secrets = "k" * 400
    for batch in batches:
        assert len(cohort_users_body(batch, secrets, secrets)) <= limit
    # The bound is tight: one more id would not have fitted.
    first = batches[0]
    grown = CohortImportBatch(**{**first.__dict__, "ids": (*first.ids, batches[1].ids[0])})
    assert len(cohort_users_body(grown, secrets, secrets)) > limit - 1024


def test_track_payload_bound() -> None:
    ids = [f'quote"and\\slash{n}' * 10 for n in range(300)]
    batches = list(attr(ids, max_payload_bytes=10_000, max_objects=1000))
    assert len(batches) > 1
    for batch in batches:
        assert len(track_body(batch)) <= 10_000


def test_settings_are_validated_up_front() -> None:
    with pytest.raises(ValueError, match="device_id"):
        attr([], identifier="device_id")
    with pytest.raises(ValueError, match="braze_id"):
        cohort([], identifier="braze_id")
    with pytest.raises(ValueError, match="alias_label"):
        attr([], identifier="user_alias")
    with pytest.raises(ValueError, match="alias_label"):
        attr([], alias_label="lbl")
    with pytest.raises(ValueError, match="value"):
        attr([], value="v" * 256)
    with pytest.raises(ValueError, match="action"):
        attr([], action="set")  # type: ignore[arg-type]  # deliberately invalid
    with pytest.raises(ValueError, match="max_payload_bytes"):
        attr([], max_payload_bytes=100)


def test_batch_bodies_round_trip() -> None:
    batch = next(iter(attr(["u1"])))
    assert orjson.loads(track_body(batch)) == {
        "attributes": [
            {"external_id": "u1", "_update_existing_only": True, "segments": {"add": ["vip"]}}
        ]
    }
