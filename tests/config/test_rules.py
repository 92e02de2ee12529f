"""One test per schema and semantic rule: the exact location and message."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohortops.config import load_config
from cohortops.errors import ConfigError

BASE = """\
version: 1
destinations:
  braze:
    rest_endpoint: https://rest.fra-01.braze.eu
    api_key: ${env:BRAZE_API_KEY}
connections:
  kubit:
    partner: kubit
    destination: braze
    delivery:
      method: cohort_import
      partner_api_key: ${env:KUBIT_PARTNER_KEY}
      client_secret: ${env:BRAZE_DATA_IMPORT_KEY}
  lytics:
    partner: lytics
    destination: braze
    delivery: {method: attribute, attribute: lytics_segments}
cohorts:
  power-users:
    connection: kubit
    identifier: external_id
    source: {file: users.csv}
"""


def diagnostics(tmp_path: Path, text: str) -> tuple[str, ...]:
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    return tuple(line.removeprefix(f"{tmp_path}/") for line in info.value.diagnostics)


def test_base_config_is_valid(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(BASE)
    config = load_config(tmp_path)
    assert set(config.cohorts) == {"power-users"}
    assert config.cohorts["power-users"].source.describe() == str(tmp_path / "users.csv")


CASES = [
    (
        "schedule time",
        '    schedule: {every: daily, at: "25:00", timezone: UTC}\n',
        "c.yaml:23:34: $.cohorts.power-users.schedule.at: '25:00' is not a time (HH:MM)",
    ),
    (
        "timezone",
        '    schedule: {every: daily, at: "06:00", timezone: Europe/Parris}\n',
        "c.yaml:23:53: $.cohorts.power-users.schedule.timezone: 'Europe/Parris' is not an IANA "
        "timezone (e.g. Europe/Paris, America/New_York, UTC)",
    ),
    (
        "once needs a date",
        '    schedule: {every: once, at: "06:00", timezone: UTC}\n',
        "c.yaml:23:23: $.cohorts.power-users.schedule.every: every: once needs 'date'",
    ),
    (
        "once date format",
        '    schedule: {every: once, date: "2026-13-01", at: "06:00", timezone: UTC}\n',
        "c.yaml:23:35: $.cohorts.power-users.schedule.date: '2026-13-01' is not a date (YYYY-MM-DD)",
    ),
    (
        "monthly day",
        '    schedule: {every: monthly, day: 30, at: "06:00", timezone: UTC}\n',
        "c.yaml:23:37: $.cohorts.power-users.schedule.day: 30 is not a monthly day: use 1-28 or "
        "'last' (29-31 do not exist every month)",
    ),
    (
        "weekly needs weekday",
        '    schedule: {every: weekly, at: "06:00", timezone: UTC}\n',
        "c.yaml:23:23: $.cohorts.power-users.schedule.every: every: weekly needs 'weekday'",
    ),
    (
        "field of another rhythm",
        '    schedule: {every: daily, day: 3, at: "06:00", timezone: UTC}\n',
        "c.yaml:23:35: $.cohorts.power-users.schedule.day: 'day' does not apply to every: daily",
    ),
    (
        "one schedule per cohort",
        '    schedule: [{every: daily, at: "06:00", timezone: UTC}]\n',
        "c.yaml:23:15: $.cohorts.power-users.schedule: a cohort has one schedule; to refresh on "
        "two rhythms, declare two cohorts",
    ),
    (
        "unknown key",
        "    colour: red\n",
        "c.yaml:23:5: $.cohorts.power-users.colour: unknown key 'colour'; allowed: alias_label, "
        "backfill_existing, braze_segment, connection, description, guards, identifier, "
        "moved_from, name, notify, removal, schedule, source",
    ),
    (
        "wrong type",
        "    backfill_existing: maybe\n",
        'c.yaml:23:24: $.cohorts.power-users.backfill_existing: "maybe" is not of type boolean',
    ),
    (
        "guard range",
        "    guards: {max_remove_percent: 120}\n",
        "c.yaml:23:34: $.cohorts.power-users.guards.max_remove_percent: 120 is greater than the "
        "maximum of 100",
    ),
    (
        "alias label needed",
        None,
        "c.yaml:21:17: $.cohorts.power-users.identifier: identifier user_alias needs alias_label "
        "(the label of the aliases in the source)",
    ),
    (
        "moved_from names a live cohort",
        "    moved_from: power-users\n",
        "c.yaml:23:17: $.cohorts.power-users.moved_from: moved_from names 'power-users', which is "
        "still declared; remove that cohort or drop moved_from",
    ),
]


@pytest.mark.parametrize(("name", "extra", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_reports_exact_location(
    tmp_path: Path, name: str, extra: str | None, expected: str
) -> None:
    text = (
        BASE + extra if extra else BASE.replace("identifier: external_id", "identifier: user_alias")
    )
    assert diagnostics(tmp_path, text) == (expected,)


def test_unknown_reference_suggests_closest(tmp_path: Path) -> None:
    text = BASE.replace("connection: kubit", "connection: kubitt")
    assert diagnostics(tmp_path, text) == (
        "c.yaml:20:17: $.cohorts.power-users.connection: unknown connection 'kubitt'; did you "
        "mean 'kubit'?",
    )


def test_unknown_destination(tmp_path: Path) -> None:
    text = BASE.replace(
        "destination: braze\n    delivery:\n      method: cohort",
        "destination: brze\n    delivery:\n      method: cohort",
    )
    assert diagnostics(tmp_path, text) == (
        "c.yaml:9:18: $.connections.kubit.destination: unknown destination 'brze'; did you mean "
        "'braze'?",
    )


def test_device_id_only_with_cohort_import(tmp_path: Path) -> None:
    text = BASE.replace("connection: kubit", "connection: lytics").replace(
        "identifier: external_id", "identifier: device_id"
    )
    assert diagnostics(tmp_path, text) == (
        "c.yaml:21:17: $.cohorts.power-users.identifier: identifier device_id needs a "
        "cohort_import connection; /users/track cannot address users by device id",
    )


def test_api_key_must_be_env_reference_and_is_not_echoed(tmp_path: Path) -> None:
    text = BASE.replace("${env:BRAZE_API_KEY}", "sk-live-123")
    lines = diagnostics(tmp_path, text)
    assert lines == (
        "c.yaml:5:14: $.destinations.braze.api_key: must be an environment reference like "
        "${env:BRAZE_API_KEY}; secrets never live in config files",
    )
    assert "sk-live-123" not in "".join(lines)


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    text = BASE.replace(
        "    identifier: external_id\n", "    identifier: external_id\n    identifier: user_alias\n"
    )
    assert diagnostics(tmp_path, text) == (
        "c.yaml:22:5: $.cohorts.power-users.identifier: duplicate key 'identifier' (first "
        "defined at line 21); remove one of them",
    )


def test_duplicate_ids_across_files_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(
        "cohorts:\n  power-users:\n    connection: lytics\n    identifier: external_id\n"
        "    source: {file: x.csv}\n"
    )
    assert diagnostics(tmp_path, BASE) == (
        "c.yaml:19:3: $.cohorts.power-users: duplicate cohort id 'power-users', also declared at "
        f"{tmp_path}/b.yaml:2:3; rename one",
    )


def test_source_needs_exactly_one_kind(tmp_path: Path) -> None:
    text = BASE.replace("source: {file: users.csv}", "source: {column: id}")
    assert diagnostics(tmp_path, text) == (
        "c.yaml:22:13: $.cohorts.power-users.source: a source needs exactly one of 'file', 'sql', 'lytics' or 'braze_segment'",
    )


def test_file_format_from_extension(tmp_path: Path) -> None:
    text = BASE.replace("users.csv", "users.txt")
    assert diagnostics(tmp_path, text) == (
        "c.yaml:22:20: $.cohorts.power-users.source.file: cannot tell the format of 'users.txt' "
        "from its extension; add format: csv, jsonl or parquet",
    )


def test_bad_cohort_id(tmp_path: Path) -> None:
    text = BASE.replace("  power-users:", "  Power Users!:")
    lines = diagnostics(tmp_path, text)
    assert len(lines) == 1
    assert lines[0].startswith("c.yaml:19:")
    assert "ids use letters, digits" in lines[0]


def test_missing_version(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, BASE.replace("version: 1\n", "")) == (
        "c.yaml:1:1: missing `version: 1`; add it to one file",
    )


def test_wrong_version(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, BASE.replace("version: 1", "version: 2")) == (
        "c.yaml:1:10: $.version: 2 is not one of 1",
    )


def test_two_state_blocks(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("state: {backend: sqlite, path: a.db}\n")
    (tmp_path / "t.yaml").write_text("state: {backend: sqlite, path: b.db}\n")
    assert diagnostics(tmp_path, BASE) == (
        f"t.yaml:1:1: $.state: state is already declared at {tmp_path}/s.yaml:1:1; keep one",
    )


def test_all_problems_at_once_sorted(tmp_path: Path) -> None:
    text = BASE.replace("connection: kubit", "connection: nope") + "    colour: red\n"
    lines = diagnostics(tmp_path, text)
    assert [line.split(":")[1] for line in lines] == ["20", "23"]


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (
            "https://rest.braze.eu:abc",
            "not a valid URL (Port could not be cast to integer value as 'abc')",
        ),
        (
            "https://user:pw@rest.braze.eu",
            "an endpoint is a base URL: no user, password, query or fragment",
        ),
        (
            "https://rest.braze.eu/?token=x",
            "an endpoint is a base URL: no user, password, query or fragment",
        ),
    ],
)
def test_endpoint_must_be_a_base_url(tmp_path: Path, endpoint: str, message: str) -> None:
    text = BASE.replace("https://rest.fra-01.braze.eu", endpoint)
    assert diagnostics(tmp_path, text) == (
        f"c.yaml:4:20: $.destinations.braze.rest_endpoint: {message}",
    )
