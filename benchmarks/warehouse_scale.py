"""Scale benchmark for the warehouse diff engine (`diff: warehouse`): 1% churn.

For each size, the recorded set is a zstd Parquet snapshot of ids ``u0000000000``… (sorted);
the warehouse holds the cohort's source table ``audience`` with the first 0.5% of those ids gone
and 0.5% new ones appended. The mirror is pushed once (timed apart: a one-off cost per
compaction), then a child process runs one plan diff of the cohort and reports its wall time,
CPU time, peak RSS and the bytes of result batches it received.

    python benchmarks/warehouse_scale.py --engine duckdb --sizes 10M,100M
    python benchmarks/warehouse_scale.py --engine postgres --sizes 10M --explain --fold

Environment: ``COHORTOPS_BENCH_DUCK_SETTINGS`` (default ``memory_limit=100MB&threads=2``),
``COHORTOPS_BENCH_PG_SETTINGS`` (URL query), ``PUSH=1`` pushes a current mirror again,
``DIFF=local`` runs the local engine on the same data (its rows all travel; its DuckDB limit:
``COHORTOPS_BENCH_LOCAL_LIMIT``, default 128MB).

DuckDB runs in this process (a file database), so its memory is the client's: the URL caps it
(``memory_limit``) and it spills to ``<file>.tmp``. Data lives under benchmarks/.data/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data" / "warehouse"
PG_URL = os.environ.get("COHORTOPS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "wh_bench"
DUCK_SETTINGS = os.environ.get("COHORTOPS_BENCH_DUCK_SETTINGS", "memory_limit=100MB&threads=2")
# Server-side memory for the hash join and grouping (the server's, not the client's).
PG_SETTINGS = os.environ.get("COHORTOPS_BENCH_PG_SETTINGS", "?options=-c%20work_mem%3D64MB")
# The local engine's DuckDB limit (a plan's default; `DIFF=local` at 100M needs more).
LOCAL_LIMIT = os.environ.get("COHORTOPS_BENCH_LOCAL_LIMIT", "128MB")


def size(text: str) -> int:
    return int(float(text[:-1]) * {"K": 1e3, "M": 1e6}[text[-1]]) if text[-1] in "KM" else int(text)


def ident(i: str) -> str:
    return f"'u' || lpad(({i})::VARCHAR, 10, '0')"


def snapshot(n: int) -> Path:
    import duckdb

    path = DATA / f"snapshot-{n}-x.parquet"  # range() is in id order: no sort
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(config={"memory_limit": "1GB"})
        con.execute(
            f"COPY (SELECT {ident('range')} AS id FROM range({n})) TO '{path}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        con.close()
    return path


def url_for(engine: str, n: int) -> str:
    if engine == "duckdb":
        return f"duckdb:///{DATA / f'warehouse-{n}.duckdb'}?{DUCK_SETTINGS}"
    return PG_URL + PG_SETTINGS


def source_table(engine: str, n: int) -> str:
    return "audience" if engine == "duckdb" else f"{PG_SCHEMA}.audience_{n}"


def build_source(engine: str, n: int) -> None:
    """The desired set: ids [n/200, n + n/200): 0.5% removed, 0.5% added."""
    lo, hi = n // 200, n + n // 200
    table = source_table(engine, n)
    if engine == "duckdb":
        import duckdb

        path = DATA / f"warehouse-{n}.duckdb"
        con = duckdb.connect(str(path), config={"memory_limit": "1GB"})
        if not con.sql("SELECT * FROM duckdb_tables() WHERE table_name = 'audience'").fetchall():
            con.execute(
                f"CREATE TABLE audience AS SELECT {ident('range')} AS user_id FROM range({lo}, {hi})"
            )
        con.close()
        return
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (PG_SCHEMA, f"audience_{n}"),
        ).fetchone()
        if not exists or not exists[0]:
            con.execute(
                f"CREATE TABLE {table} AS SELECT 'u' || lpad(g::text, 10, '0') AS user_id "
                f"FROM generate_series({lo}, {hi - 1}) g"
            )
            con.execute(f"ANALYZE {table}")


def source(engine: str, n: int) -> object:
    from cohortops.config.model import Secret, SqlSource

    schema = "cohortops" if engine == "duckdb" else PG_SCHEMA
    return SqlSource(
        url=Secret(url_for(engine, n)),
        query=f"SELECT user_id FROM {source_table(engine, n)}",
        diff=os.environ.get("DIFF", "warehouse"),  # DIFF=local: the local engine, same data
        mirror_schema=schema,
    )


class Sampler:
    """Peaks, twice a second: anonymous RSS (memory the OS cannot page out without swap: a
    DuckDB buffer pool is anonymous) and, on a DuckDB warehouse, ``duckdb_memory()`` by tag."""

    def __init__(self) -> None:
        self.anon_kb = 0
        self.duck: dict[str, tuple[int, int]] = {}  # at the peak of DuckDB's memory: MB, temp MB
        self.con: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        peak = 0
        while not self._stop.wait(0.5):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    self.anon_kb = max(self.anon_kb, int(line.split()[1]))
            if self.con is None:
                continue
            try:
                rows = (
                    self.con.cursor()
                    .sql(
                        "SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory()"
                    )
                    .fetchall()
                )
            except Exception:  # the connection closing under the sampler
                continue
            if sum(r[1] for r in rows) >= peak:
                peak = sum(r[1] for r in rows)
                self.duck = {r[0]: (r[1] >> 20, r[2] >> 20) for r in rows if r[1] or r[2]}

    def stop(self) -> dict[str, object]:
        self._stop.set()
        self._thread.join()
        return {"peak_anon_mb": self.anon_kb // 1024, "duckdb_memory_mb_temp_mb": self.duck}


def child(engine: str, n: int) -> None:
    """One plan diff, in a fresh process: prints its figures as JSON."""
    start = time.perf_counter()
    from cohortops.diff import warehouse_conn
    from cohortops.diff.engine import make_engine
    from cohortops.state.snapshot import RecordedMembers

    sampler = Sampler()
    batches = warehouse_conn.DuckDBWarehouse.batches

    def sampled(self: warehouse_conn.DuckDBWarehouse, sql: str) -> Iterator[object]:
        sampler.con = self.con
        yield from batches(self, sql)

    warehouse_conn.DuckDBWarehouse.batches = sampled  # type: ignore[method-assign]

    recorded = RecordedMembers("bench", snapshot(n), [], [], n)
    engine_ = make_engine("duckdb", memory_limit=LOCAL_LIMIT)
    diff = engine_.diff("bench", source(engine, n), recorded)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "wall_s": round(wall, 2),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                "peak_rss_mb": round(usage.ru_maxrss / 1024),
                "bytes_received": engine_.bytes_received,  # type: ignore[attr-defined]
                "adds": diff.adds,
                "removes": diff.removes,
                "pushed": len(engine_.pushed),  # type: ignore[attr-defined]
                **sampler.stop(),
                "load": Path("/proc/loadavg").read_text().split()[:3],
            }
        )
    )
    engine_.close()


def push(engine: str, n: int) -> float:
    from cohortops.diff.engine import make_engine
    from cohortops.diff.mirror import push_mirror, read_mirror, snapshot_key
    from cohortops.diff.warehouse_conn import connect

    src = source(engine, n)
    wh = connect(src, "bench")  # type: ignore[arg-type]
    start = time.perf_counter()
    info = read_mirror(wh, src.mirror_schema, "bench")  # type: ignore[attr-defined]
    if info is None or info.snapshot != snapshot_key(snapshot(n)) or os.environ.get("PUSH"):
        push_mirror(wh, src.mirror_schema, "bench", snapshot(n), n)  # type: ignore[attr-defined]
    took = time.perf_counter() - start
    wh.close()
    del make_engine
    return took


def fold(engine: str, n: int) -> float:
    """Fold the 1% churn (n/200 removed, n/200 added) into the mirror, as an apply would."""
    import pyarrow as pa

    from cohortops.diff.mirror import fold_mirror, read_mirror
    from cohortops.diff.warehouse_conn import connect

    src = source(engine, n)
    wh = connect(src, "bench")  # type: ignore[arg-type]
    info = read_mirror(wh, src.mirror_schema, "bench")  # type: ignore[attr-defined]
    assert info is not None
    as_ids = lambda lo, hi: pa.array([f"u{i:010d}" for i in range(lo, hi)], pa.string())  # noqa: E731
    added, removed = as_ids(n, n + n // 200), as_ids(0, n // 200)
    folded = DATA / f"snapshot-{n}-folded.parquet"  # a name only: the next run pushes again
    lo, hi = n // 200, n + n // 200  # what it would hold: u{lo} .. u{hi - 1}, 11 characters each
    expected = (n, f"{11 * n}:u{lo:010d}:u{hi - 1:010d}")
    start = time.perf_counter()
    fold_mirror(wh, info, added, removed, folded, expected)
    took = time.perf_counter() - start
    wh.close()
    return took


def explain(n: int) -> str:
    import psycopg

    from cohortops.diff.mirror import mirror_table
    from cohortops.diff.warehouse_sql import diff_sql, with_source

    sql = with_source(
        diff_sql("string", "postgres", (PG_SCHEMA, mirror_table("bench")), with_delta=False),
        "postgres",
        f"SELECT q.user_id AS v FROM (SELECT user_id FROM {source_table('postgres', n)}) q",
    )
    with psycopg.connect(PG_URL + PG_SETTINGS) as con:
        rows = con.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}").fetchall()
    # the keys and conditions spell out the cleaning expressions: only their first words
    return "\n".join(r[0] if len(r[0]) < 160 else r[0][:100] + " …" for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--sizes", default="10M")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--fold", action="store_true", help="then time folding the churn into the mirror"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for n in [size(s) for s in args.sizes.split(",")]:
        if args.child:
            child(args.engine, n)
            continue
        t = time.perf_counter()
        snapshot(n)
        build_source(args.engine, n)
        print(f"{args.engine} {n:,}: data ready in {time.perf_counter() - t:.1f} s", flush=True)
        print(
            f"  mirror push (0 when current; PUSH=1 forces): {push(args.engine, n):.1f} s",
            flush=True,
        )
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--engine", args.engine, "--sizes", str(n)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            print(out.stderr[-3000:])
            continue
        print(f"  plan diff: {out.stdout.strip()}", flush=True)
        if args.explain and args.engine == "postgres":
            print(explain(n))
        if args.fold:
            print(f"  fold of the churn: {fold(args.engine, n):.1f} s (next run pushes again)")


if __name__ == "__main__":
    main()
