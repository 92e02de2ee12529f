"""`cohortops plan` of a `diff: warehouse` cohort equals the local engine's plan.

The cohort's query runs on a DuckDB file or on PostgreSQL; after a first apply the source
changes (adds, removes, duplicates, padding, rejected rows) and the plan made in the warehouse
must equal, cohort by cohort and in the CLI's output, the plan made by streaming the rows here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import duckdb
import psycopg
import pytest
from pgsupport import RUN_ID, next_schema_number

from cohortops.plan.model import Plan

from .conftest import MakeProject
from .harness import CohortSpec, Project, assert_converged, ids


def fill(kind: str, url: str, table: str, values: list[str | None]) -> None:
    if kind == "duckdb":
        con = duckdb.connect(url.removeprefix("duckdb:///"))
        try:
            con.execute(f"CREATE OR REPLACE TABLE {table} (pos INTEGER, user_id VARCHAR)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?)", list(enumerate(values)))
        finally:
            con.close()
        return
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"DROP TABLE IF EXISTS {table}")
        pg.execute(f"CREATE TABLE {table} (pos INTEGER, user_id VARCHAR)")
        with pg.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", list(enumerate(values)))


def comparable(plan: Plan) -> list[dict[str, Any]]:
    out = []
    for cohort in plan.cohorts:
        fields = dataclasses.asdict(cohort)
        fields["to_add"], fields["to_remove"] = (
            cohort.to_add.to_pylist(),
            cohort.to_remove.to_pylist(),
        )
        out.append(fields)
    return out


def place(kind: str, project: Project, request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """``(url, source table, mirror schema)`` in a DuckDB file or a new PostgreSQL schema."""
    if kind == "duckdb":
        return f"duckdb:///{project.root / 'warehouse.duckdb'}", "audience", "cohortops"
    url = request.getfixturevalue("postgres_url")
    schema = f"cohortops_test_{RUN_ID}_{next_schema_number()}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    return url, f"{schema}.audience", schema


@pytest.mark.parametrize(
    "warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_warehouse_plan_equals_local_plan(
    make_project: MakeProject, warehouse: str, request: pytest.FixtureRequest
) -> None:
    project = make_project("sqlite", population=2_000)
    url, table, schema = place(warehouse, project, request)

    def write(diff: str) -> None:
        source = {
            "sql": {
                "url": url,
                "query": f"SELECT user_id FROM {table} ORDER BY pos",
                "diff": diff,
                "mirror_schema": schema,
            }
        }
        project.write({"wh": CohortSpec("attribute", [], {"source": source})})

    first = ids("u", 0, 400)
    fill(warehouse, url, table, list(first))
    write("warehouse")
    project.apply()
    assert project.recorded() == {"wh": set(first)}
    assert_converged(project)

    changed: list[str | None] = [*ids("u", 100, 500), " u000450 ", "u000120", None, "", "x" * 300]
    fill(warehouse, url, table, changed)
    plans: dict[str, Plan] = {}
    outputs: dict[str, str] = {}
    for diff in ("local", "warehouse"):
        write(diff)
        plans[diff] = project.plan()
        result = project.main("plan")
        assert result.returncode in (0, 2), result.stderr
        outputs[diff] = result.stdout
    assert comparable(plans["warehouse"]) == comparable(plans["local"])
    assert plans["warehouse"].summary == plans["local"].summary
    assert outputs["warehouse"] == outputs["local"]
    wh = plans["warehouse"].cohorts[0]
    assert len(wh.to_add) == 100 and len(wh.to_remove) == 100
    assert dict(wh.skipped) == {"empty": 2, "too_long": 1} and wh.duplicates == 2

    # Apply from the warehouse plan, then the next warehouse plan has nothing to do.
    write("warehouse")
    project.apply()
    assert project.recorded()["wh"] == set(ids("u", 100, 500))
    assert_converged(project)


def test_state_push_mirror(make_project: MakeProject) -> None:
    project = make_project("sqlite", population=2_000)
    url = f"duckdb:///{project.root / 'warehouse.duckdb'}"
    fill("duckdb", url, "audience", list(ids("u", 0, 50)))
    source = {"sql": {"url": url, "query": "SELECT user_id FROM audience", "diff": "warehouse"}}
    project.write(
        {
            "wh": CohortSpec("attribute", [], {"source": source}),
            "files": CohortSpec("attribute", ids("u", 0, 5)),
        }
    )
    project.apply()
    pushed = project.main("state", "push-mirror", "wh")
    assert pushed.returncode == 0, pushed.stderr
    assert "Pushed the mirror of wh: 50 members" in pushed.stdout
    assert "cohortops.members_wh_" in pushed.stdout
    refused = project.main("state", "push-mirror", "files")
    assert refused.returncode != 0 and "has no `sql:` source" in refused.stderr
    assert "Traceback" not in refused.stderr
