"""The warehouse diff expression end to end on Spark in local mode (one session per module).

The SQL compiled for Spark reads a source view and a mirror table saved in a Spark database;
its rows go through the same reading and delta folding as DuckDB's and PostgreSQL's, and the
result must equal the Python reference engine's on the same rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cohortops.config.model import Secret, SqlSource
from cohortops.diff.python_engine import PythonDiffEngine
from cohortops.diff.warehouse_result import Result, deltas
from cohortops.diff.warehouse_sql import DELTA_TABLE, diff_sql, fingerprint_sql, with_source
from cohortops.state.snapshot import RecordedMembers

pytestmark = pytest.mark.spark
if os.environ.get("CI", "").lower() != "true":  # CI installs pyspark with [dev]: must run
    pytest.importorskip("pyspark")

VALUES: list[Any] = [
    "u1",
    " u2 ",
    "u3",
    "u3",
    None,
    "",
    "\u3000",
    "a\nb",
    "x" * 256,
    "y" * 255,
    "ユーザー",
    "\ufeffu4",
    "u5\u2029",
    "u6",
]
SNAPSHOT = ["u1", "u2", "u9", "u0", "u7"]
ADDED, REMOVED = ["u8", "u3"], ["u0", "u6"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    where = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("cohortops-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.host", "127.0.0.1")
        # A handful of rows: compiling generated code and re-planning cost more than running.
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(where / "warehouse"))
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_runs_the_same_expression(spark: Any, tmp_path: Path) -> None:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    schema = StructType([StructField("pos", LongType()), StructField("v", StringType())])
    rows = list(enumerate(VALUES))
    spark.createDataFrame(rows, schema).createOrReplaceTempView("src")
    ids = StructType([StructField("id", StringType())])
    # The mirror, schema-qualified as on any warehouse: a global view (no table files to write).
    spark.createDataFrame([(i,) for i in SNAPSHOT], ids).createOrReplaceGlobalTempView("members_c")
    added, removed = deltas(ADDED, REMOVED)
    spark.createDataFrame(
        [(i,) for i in [*added.to_pylist(), *removed.to_pylist()]], ids
    ).createOrReplaceTempView(DELTA_TABLE)
    mirror = ("global_temp", "members_c")
    source_sql = "SELECT q.`v` AS v FROM (SELECT v FROM src ORDER BY pos) q"
    sql = with_source(diff_sql("string", "pyspark", mirror, with_delta=True), "pyspark", source_sql)
    table = spark.sql(sql).toArrow()
    result = Result().read(
        table.cast(
            pa.schema([("kind", pa.int32()), ("id", pa.string()), ("n", pa.int64())])
        ).to_batches()
    )
    ((n, printed),) = spark.sql(fingerprint_sql(mirror, "pyspark")).collect()
    assert result.fingerprint == (n, printed) and n == len(SNAPSHOT)
    adds, removes, recorded_count = result.fold(added, removed, n)

    snap = tmp_path / "c-1-x.parquet"
    pq.write_table(pa.table({"id": pa.array(sorted(SNAPSHOT), pa.string())}), snap)
    db = tmp_path / "ref.duckdb"
    import duckdb

    con = duckdb.connect(str(db))
    con.register("rows", pa.table({"pos": range(len(VALUES)), "v": pa.array(VALUES, pa.string())}))
    con.execute("CREATE TABLE src AS SELECT * FROM rows")
    con.close()
    reference = PythonDiffEngine().diff(
        "c",
        SqlSource(url=Secret(f"duckdb:///{db}"), query="SELECT v FROM src ORDER BY pos"),
        RecordedMembers("c", snap, ADDED, REMOVED, 0),
    )
    assert adds.to_pylist() == reference.to_add.to_pylist()
    assert removes.to_pylist() == reference.to_remove.to_pylist()
    assert recorded_count == reference.recorded_count
    assert result.distinct == reference.desired_count
    assert result.skipped() == dict(reference.skipped)
    assert result.duplicates == reference.duplicates
