"""A cohort listing several connections, and Braze segment sources: the model built and the
located one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohortops.config import load_config
from cohortops.config.model import BrazeSegmentSource, Config
from cohortops.errors import ConfigError

BASE = """\
version: 1
destinations:
  braze:
    rest_endpoint: https://rest.fra-01.braze.eu
    api_key: ${env:BRAZE_API_KEY}
  lytics-prod:
    kind: lytics
    rest_endpoint: https://api.lytics.io
    api_key: ${env:LYTICS_TOKEN}
connections:
  kubit:
    partner: kubit
    destination: braze
    delivery:
      method: cohort_import
      partner_api_key: ${env:KUBIT_PARTNER_KEY}
      client_secret: ${env:BRAZE_DATA_IMPORT_KEY}
  attr:
    partner: lytics
    destination: braze
    delivery: {method: attribute, attribute: segs}
  to-lytics:
    partner: braze
    destination: lytics-prod
    delivery: {method: attribute, attribute: braze_cohorts}
cohorts:
  vip:
    connection: CONNECTION
    identifier: external_id
    source: SOURCE
"""
FILE = "{file: users.csv}"
SEGMENT = "{braze_segment: {destination: braze, segment: seg-1}}"


def config_text(connection: str = "kubit", source: str = FILE, extra: str = "") -> str:
    return BASE.replace("CONNECTION", connection).replace("SOURCE", source) + extra


def load(tmp_path: Path, text: str) -> Config:
    (tmp_path / "c.yaml").write_text(text)
    return load_config(tmp_path)


def diagnostics(tmp_path: Path, text: str) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return tuple(line.removeprefix(f"{tmp_path}/") for line in info.value.diagnostics)


def test_a_list_of_connections_is_one_cohort_per_connection(tmp_path: Path) -> None:
    extra = "    braze_segment: mirror-1\n    moved_from: old-vip\n"
    config = load(tmp_path, config_text("[to-lytics, kubit]", extra=extra))
    assert list(config.cohorts) == ["vip", "vip@kubit"]
    first, second = config.cohorts["vip"], config.cohorts["vip@kubit"]
    assert (first.connection, second.connection) == ("to-lytics", "kubit")
    assert first.declared_id == second.declared_id == "vip"
    assert first.source == second.source and second.location == first.location
    assert first.moved_from == "old-vip" and second.moved_from is None  # a rename is the first's
    # the mirror segment describes the Braze destination: it stays with the Braze pair
    assert (first.braze_segment, second.braze_segment) == (None, "mirror-1")


def test_the_single_form_is_unchanged(tmp_path: Path) -> None:
    config = load(tmp_path, config_text("kubit"))
    cohort = config.cohorts["vip"]
    assert list(config.cohorts) == ["vip"] and cohort.declared is None
    assert cohort.declared_id == "vip" and cohort.connection == "kubit"


def test_a_braze_segment_source_carries_its_destination_and_the_cohorts_identifier(
    tmp_path: Path,
) -> None:
    source = "{braze_segment: {destination: braze, segment: seg-1, ready_timeout: 60}}"
    config = load(tmp_path, config_text("to-lytics", source))
    built = config.cohorts["vip"].source
    assert isinstance(built, BrazeSegmentSource)
    assert (built.segment, built.braze.id, built.identifier) == ("seg-1", "braze", "external_id")
    assert built.ready_timeout == 60 and built.describe() == "braze segment seg-1"
    assert built.poll_seconds == 5.0  # left out: the model's default, as the schema documents


@pytest.mark.parametrize(
    ("connection", "source", "expected"),
    [
        (
            "[kubit, to-lytcs]",
            FILE,
            "c.yaml:28:25: $.cohorts.vip.connection[1]: unknown connection 'to-lytcs'; "
            "did you mean 'to-lytics'?",
        ),
        (
            "[kubit, attr]",
            FILE,
            "c.yaml:28:25: $.cohorts.vip.connection[1]: connections 'kubit' and 'attr' both "
            "deliver to destination 'braze'; a cohort feeds each destination once",
        ),
        (
            "[]",
            FILE,
            "c.yaml:28:17: $.cohorts.vip.connection: a cohort needs at least one connection id, each "
            "listed once",
        ),
        (
            "[kubit, kubit]",
            FILE,
            "c.yaml:28:17: $.cohorts.vip.connection: a cohort needs at least one connection id, each "
            "listed once",
        ),
        (
            "to-lytics",
            "{braze_segment: {destination: braz, segment: s}}",
            "c.yaml:30:43: $.cohorts.vip.source.braze_segment.destination: unknown destination "
            "'braz'; did you mean 'braze'?",
        ),
        (
            "to-lytics",
            "{braze_segment: {destination: lytics-prod, segment: s}}",
            "c.yaml:30:43: $.cohorts.vip.source.braze_segment.destination: destination "
            "'lytics-prod' is kind lytics; a braze_segment source reads a kind: braze "
            "destination (Braze destinations: braze)",
        ),
        (
            "to-lytics",
            "{braze_segment: {destination: braze}}",
            "c.yaml:30:29: $.cohorts.vip.source.braze_segment: missing required key 'segment'",
        ),
        (
            "to-lytics",
            "{braze_segment: {destination: braze, segment: s}, column: id}",
            "c.yaml:30:71: $.cohorts.vip.source.column: 'column' does not apply: a "
            "braze_segment source reads the cohort's identifier",
        ),
    ],
    ids=[
        "unknown",
        "same-destination",
        "empty",
        "repeated",
        "unknown-destination",
        "lytics-destination",
        "no-segment",
        "column",
    ],
)
def test_errors_are_located_and_one_line(
    tmp_path: Path, connection: str, source: str, expected: str
) -> None:
    assert diagnostics(tmp_path, config_text(connection, source)) == (expected,)


def test_a_connection_that_is_not_an_id_or_a_list(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, config_text("5")) == (
        "c.yaml:28:17: $.cohorts.vip.connection: 5 is not of type string or array",
    )


def test_device_ids_cannot_come_from_a_segment_export(tmp_path: Path) -> None:
    text = config_text("kubit", SEGMENT).replace("identifier: external_id", "identifier: device_id")
    assert diagnostics(tmp_path, text) == (
        "c.yaml:29:17: $.cohorts.vip.identifier: a braze_segment source cannot list device ids: "
        "segment exports name users by external_id, braze_id or user alias",
    )


def test_device_id_with_an_attribute_connection_in_the_list_is_refused(tmp_path: Path) -> None:
    text = config_text("[kubit, to-lytics]").replace(
        "identifier: external_id", "identifier: device_id"
    )
    assert "identifier device_id needs a cohort_import connection" in diagnostics(tmp_path, text)[0]
