from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import orjson

from cohortops.config.model import FileSource, Notify, Schedule, Secret, SqlSource
from cohortops.plan.settings import cohort_settings, identity_changes, settings_diff

from .builders import ROOT, cohort, config


def test_settings_are_json_safe_and_relative_to_the_config_root() -> None:
    c = dataclasses.replace(
        cohort("a", name="A"),
        schedule=Schedule(every="daily", at=dt.time(6, 0), timezone="Europe/Paris"),
        notify=Notify(email=("growth@example.com",), webhook=Secret("${env:SLACK_WEBHOOK}")),
    )
    cfg = config([c])
    s = cohort_settings(cfg, c)
    assert orjson.loads(orjson.dumps(s)) == s
    assert s["remote_id"] == "a" and s["name"] == "A"
    assert s["source"]["path"] == "data/a.csv"
    assert s["schedule"]["at"] == "06:00"
    assert s["notify"]["webhook_env"] == ["SLACK_WEBHOOK"]
    assert s["guards"] == {"max_remove_percent": 50, "allow_empty": False}
    assert s["delivery"] == {
        "method": "attribute",
        "attribute": "lytics_segments",
        "create_missing_users": False,
        "max_array_length": 25,
    }


def test_root_given_as_a_file_uses_its_directory() -> None:
    cfg = dataclasses.replace(config([cohort("a")]), root=ROOT / "cohorts.yaml")
    assert cohort_settings(cfg, cfg.cohorts["a"])["source"]["path"] == "data/a.csv"


def test_path_outside_the_root_stays_absolute() -> None:
    c = cohort("a")
    assert isinstance(c.source, FileSource)
    c = dataclasses.replace(c, source=dataclasses.replace(c.source, path=Path("/elsewhere/x.csv")))
    assert cohort_settings(config([c]), c)["source"]["path"] == "/elsewhere/x.csv"


def test_sql_source_keeps_only_environment_variable_names() -> None:
    literal = SqlSource(url=Secret("postgresql://bob:hunter2@db/x"), query="select 1")
    ref = SqlSource(url=Secret("${env:WAREHOUSE_URL}"), query="select 1")
    for source, names in ((literal, []), (ref, ["WAREHOUSE_URL"])):
        c = dataclasses.replace(cohort("a"), source=source)
        s = cohort_settings(config([c]), c)
        assert "hunter2" not in orjson.dumps(s).decode()
        assert s["source"] == {"kind": "sql", "url_env": names, "query": "select 1", "column": None}


def test_cohort_import_delivery_holds_no_keys() -> None:
    c = cohort("k", "kubit")
    s = cohort_settings(config([c]), c)
    assert s["delivery"] == {"method": "cohort_import"}
    assert "KUBIT" not in orjson.dumps(s).decode()


def test_settings_diff_lines() -> None:
    old = {"name": "A", "guards": {"max_remove_percent": 20}, "notify": {"email": ["a"]}, "x": 1}
    new: dict[str, object] = {
        "name": "B",
        "guards": {"max_remove_percent": 30.5},
        "notify": {"email": ["a", "b"]},
    }
    new["y"] = True
    assert settings_diff(old, new) == (
        "~ guards.max_remove_percent: 20 → 30.5",
        '~ name: "A" → "B"',
        '~ notify.email: ["a"] → ["a", "b"]',
        "- x: 1",
        "+ y: true",
    )
    assert settings_diff(old, old) == ()


def test_identity_changes_ignore_keys_the_record_lacks() -> None:
    assert identity_changes({}, {"connection": "x"}) == []
    assert identity_changes({"identifier": "external_id"}, {"identifier": "device_id"}) == [
        'identifier ("external_id" → "device_id")'
    ]


def test_partner_is_identity_only_for_cohort_import() -> None:
    attr = {"partner": "a", "delivery": {"method": "attribute"}}
    assert identity_changes(attr, {**attr, "partner": "b"}) == []
    imp = {"partner": "a", "delivery": {"method": "cohort_import"}}
    assert identity_changes(imp, {**imp, "partner": "b"}) == ['partner ("a" → "b")']
