"""`export members|runs|audit`: files in three formats, and incremental loads into PostgreSQL and
DuckDB tables."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cohortops.config.model import StateConfig
from cohortops.operations.export_sql import ExportTargetError, target
from cohortops.operations.exports import export_table, load_sql, write_file
from cohortops.state import Store, open_store
from cohortops.state.logs import RunRecord

WHO = "tester@ci"
T0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def record(store: Store, cohort: str, op: str, ids: list[str]) -> None:
    audit = {"apply_id": "a1", "action": op, "members": ids, "remote_id": cohort}
    store.record_batch(cohort, op, ids, audit=audit)  # type: ignore[arg-type]
    store.flush()


def add_run(store: Store, cohort: str, total: int) -> None:
    store.record_run(RunRecord(cohort, "manual", T0, T0, "success", total, 0, 0, total, "a1"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(StateConfig(path=tmp_path / "state.db"), cwd=tmp_path)
    with opened.lock("test", WHO):
        opened.upsert_cohort("c1", {"remote_id": "c1"})
        opened.upsert_cohort("c2", {"remote_id": "c2"})
        record(opened, "c1", "add", ["a", "b", "c"])
        record(opened, "c1", "remove", ["b"])
        record(opened, "c2", "add", ["z"])
        add_run(opened, "c1", 2)
    yield opened
    opened.close()


def test_files_in_every_format(store: Store, tmp_path: Path) -> None:
    members = export_table(store, "members")
    assert sorted(zip(*members.to_pydict().values(), strict=True)) == [
        ("c1", "a"), ("c1", "c"), ("c2", "z")
    ]  # fmt: skip
    write_file(members, "parquet", tmp_path / "m.parquet")
    assert pq.read_table(tmp_path / "m.parquet").num_rows == 3
    write_file(export_table(store, "runs"), "csv", tmp_path / "r.csv")
    runs = pacsv.read_csv(tmp_path / "r.csv").to_pylist()
    assert [(r["cohort_id"], r["total_members"], r["result"]) for r in runs] == [
        ("c1", 2, "success")
    ]
    out = io.BytesIO()
    write_file(export_table(store, "audit"), "jsonl", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [json.loads(e["data"])["members"] for e in lines if e["kind"] == "batch"] == [
        ["a", "b", "c"], ["b"], ["z"]
    ]  # fmt: skip
    assert export_table(store, "audit", after=lines[-1]["seq"]).num_rows == 0


def _load_twice(store: Store, url: str, table: str) -> None:
    assert load_sql(store, "runs", url, f"{table}_runs") == 1
    assert load_sql(store, "audit", url, f"{table}_audit") >= 3
    assert load_sql(store, "members", url, f"{table}_members") == 3
    # incremental: nothing new, then only the new run and audit entries
    assert load_sql(store, "runs", url, f"{table}_runs") == 0
    assert load_sql(store, "audit", url, f"{table}_audit") == 0
    with store.lock("test", WHO):
        add_run(store, "c2", 1)
        record(store, "c2", "add", ["y"])
    assert load_sql(store, "runs", url, f"{table}_runs") == 1
    assert load_sql(store, "audit", url, f"{table}_audit") == 1
    assert load_sql(store, "members", url, f"{table}_members") == 4


def test_duckdb_target_loads_incrementally(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "wh.db"
    _load_twice(store, f"duckdb:///{path}", "cohortops")
    con = duckdb.connect(str(path))
    try:
        assert con.execute("SELECT count(*) FROM cohortops_runs").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM cohortops_members").fetchone() == (4,)
        batches = con.execute(
            "SELECT count(*) FROM cohortops_audit WHERE kind = 'batch' AND json_array_length(data -> 'members') > 0"
        ).fetchone()
        assert batches == (4,)
    finally:
        con.close()


@pytest.mark.postgres
def test_postgres_target_loads_incrementally(store: Store, postgres_url: str) -> None:
    schema = f"cohortops_export_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        _load_twice(store, postgres_url, f"{schema}.wh")
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute(
                f'SELECT cohort_id, total_members FROM "{schema}".wh_runs ORDER BY run_id'
            ).fetchall()
            assert rows == [("c1", 2), ("c2", 1)]
            kinds = conn.execute(
                f"SELECT data -> 'members' FROM \"{schema}\".wh_audit WHERE kind = 'batch' ORDER BY seq"
            ).fetchall()
            assert kinds[-1] == (["y"],)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_unsupported_target_says_what_works() -> None:
    with pytest.raises(ExportTargetError, match=r"postgresql:// or duckdb:///"):
        target("mysql://x/y")


def test_cli_export_to_stdout_and_to_duckdb(store: Store, tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "cohortops.yaml").write_text(
        "version: 1\nstate: {backend: sqlite, path: state.db}\n"
        "destinations: {b: {rest_endpoint: 'http://127.0.0.1:1', api_key: '${env:K}'}}\n"
        "connections: {c: {partner: p, destination: b, delivery: {method: attribute, attribute: a}}}\n"
        "cohorts: {}\n"
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "cohortops", "export", *args, "-c", str(tmp_path)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)

    out = cli("members")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        '"cohort_id","member_id"',
        '"c1","a"',
        '"c1","c"',
        '"c2","z"',
    ]
    loaded = cli("runs", "--to", f"duckdb:///{tmp_path}/w.db", "--table", "runs")
    assert loaded.returncode == 0 and "Loaded 1 runs rows into runs." in loaded.stderr
    again = cli("runs", "--to", f"duckdb:///{tmp_path}/w.db", "--table", "runs")
    assert "Loaded 0 runs rows" in again.stderr
    alone = cli("runs", "--table", "runs")
    assert alone.returncode == 1 and "--to and --table go together" in alone.stderr
