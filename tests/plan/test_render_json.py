from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import cohortops
from cohortops.plan.model import OverflowFact, attribute_key
from cohortops.plan.planner import make_plan
from cohortops.plan.render_json import plan_json, render_json
from cohortops.sources.issues import SourceIssue

from .builders import NOW, cohort, config, diff, record, state, users

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schemas" / "plan.schema.json"
PACKAGED = Path(cohortops.__file__).parent / "schemas" / "plan.schema.json"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _busy_plan() -> Any:
    old = config([cohort("gone"), cohort("churn", max_remove_percent=10), cohort("old-k", "kubit")])
    cfg = config(
        [
            cohort("churn", max_remove_percent=10),
            cohort("k", "kubit", name="K"),
            cohort("new-k", "kubit", moved_from="old-k"),
            cohort("base", backfill_existing=False),
            cohort("bad"),
        ]
    )
    st = state(record(old, "gone", 2), record(old, "churn", 50), record(old, "old-k", 0))
    issue = SourceIssue("data/k.csv:4", "empty identifier")
    diffs = {
        "gone": diff("gone", remove=["g1", "g2"], recorded=2, desired=0),
        "churn": diff("churn", add=users(25, "n"), remove=users(20), recorded=50),
        "k": diff("k", add=users(30), issues=[issue], skipped={"empty identifier": 1}),
        "new-k": diff("new-k"),
        "base": diff("base", add=["b"]),
    }
    fact = OverflowFact(attribute_key("braze-prod", "lytics_segments"), 25, 2, ("n000001",), 26)
    return make_plan(
        cfg,
        st,
        diffs,
        now=NOW,
        source_errors={"bad": "boom"},
        overflow={fact.attribute_key: fact},
        targets=None,
    )


def test_rendered_json_validates_against_the_schema() -> None:
    validator = _validator()
    plan = _busy_plan()
    data = json.loads(render_json(plan))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert errors == []
    assert data["format_version"] == 1
    assert data["state"] == {"lineage": "lineage-1", "serial": 7, "where": "", "exists": True}
    summary = data["summary"]
    assert summary["cohorts_to_create"] == 2
    assert summary["cohorts_to_update"] == 1
    assert summary["cohorts_to_destroy"] == 1
    assert summary["cohorts_to_rename"] == 1
    assert summary["members_to_add"] == 55 and summary["members_to_remove"] == 22
    assert summary["members_baseline"] == 1
    assert {g["id"] for g in data["guards"]} >= {
        "destroy:gone",
        "max_remove_percent:churn",
        "array_overflow:braze-prod/lytics_segments",
        "existing_users_only:k",
        "source_rows_skipped:k",
    }


def test_json_carries_samples_not_all_ids() -> None:
    data = plan_json(_busy_plan(), sample=5)
    k = next(c for c in data["cohorts"] if c["id"] == "k")
    assert k["members_to_add"] == 30
    assert k["sample_to_add"] == [f"user_{i:06d}" for i in range(5)]
    assert k["source"]["issues"] == [{"where": "data/k.csv:4", "message": "empty identifier"}]


def test_schema_rejects_a_wrong_document() -> None:
    data = json.loads(render_json(_busy_plan()))
    data["summary"]["members_to_add"] = -1
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(data)


def test_empty_plan_validates() -> None:
    plan = make_plan(config([]), state(), {}, now=NOW)
    _validator().validate(json.loads(render_json(plan)))


def test_packaged_schema_is_identical_to_the_repository_schema() -> None:
    assert PACKAGED.read_bytes() == SCHEMA.read_bytes()
