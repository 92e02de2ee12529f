"""The SQL the warehouse expression compiles to, per engine, against recorded expectations.

Snowflake, BigQuery, Trino and Databricks have no server here: their SQL is compiled from the
same ibis expression and compared with the files under ``expected_sql/`` (reviewed by hand;
``COHORTOPS_UPDATE_SQL=1`` rewrites them after a deliberate change). Each must also parse back
in its dialect. DuckDB, PostgreSQL and Spark run theirs in the other tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot

from cohortops.diff.warehouse_sql import (
    SOURCE_TABLE,
    diff_sql,
    fingerprint_sql,
    issues_sql,
    with_source,
)

EXPECTED = Path(__file__).parent / "expected_sql"
DIALECTS = ["snowflake", "bigquery", "trino", "databricks", "pyspark", "duckdb", "postgres"]
GLOT = {"pyspark": "spark"}
MIRROR = ("cohortops", "members_churn_risk_1a2b3c4d")


def compiled(dialect: str) -> dict[str, str]:
    source = "SELECT q.user_id AS v FROM (SELECT user_id FROM analytics.churn) q"
    return {
        "diff": with_source(diff_sql("string", dialect, MIRROR, with_delta=False), dialect, source),
        "diff_delta_int": diff_sql("int64", dialect, MIRROR, with_delta=True),
        "issues": issues_sql("string", dialect),
        "fingerprint": fingerprint_sql(MIRROR, dialect),
    }


@pytest.mark.parametrize("dialect", DIALECTS)
def test_compiled_sql_matches_the_recorded_expectation(dialect: str) -> None:
    for name, sql in compiled(dialect).items():
        path = EXPECTED / f"{dialect}.{name}.sql"
        if os.environ.get("COHORTOPS_UPDATE_SQL") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_bytes((sql + "\n").encode())
        # bytes: the patterns hold literal control characters and line separators
        assert path.read_bytes().decode() == sql + "\n", f"{path.name} changed"
        parsed = sqlglot.parse_one(sql, read=GLOT.get(dialect, dialect))
        assert parsed is not None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_one_join_over_the_source_and_branches_do_not_fold(dialect: str) -> None:
    sql = compiled(dialect)["diff"].upper()
    # one pass over the source: a FULL OUTER JOIN with the mirror, grouped (folds duplicates)
    assert sql.count("FULL OUTER JOIN") == 1 and "GROUP BY" in sql and "EXCEPT" not in sql
    assert sql.count(SOURCE_TABLE.upper()) == 2  # the CTE's name and its one reader
    assert "UNION ALL" in sql and "UNION DISTINCT" not in sql.replace("UNION ALL", "")
