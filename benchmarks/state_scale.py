"""State store at scale: first load, recorded_members and compaction with 1% churn.

    .venv/bin/python benchmarks/state_scale.py --members 10000000 --backend both

For each backend it builds one cohort through ``record_batch`` in 75-id batches (what the
applier does for ``/users/track``), each with a per-batch audit entry unless ``--no-audit``,
and prints wall times. PostgreSQL uses a throwaway schema that is dropped at the end; SQLite a
temporary directory (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from cohortops.config.model import Secret, StateConfig
from cohortops.state import Store, open_store

PG_URL = os.environ.get("COHORTOPS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
COHORT = "bench"


def ext_ids(start: int, stop: int, step: int = 1) -> list[str]:
    return [f"user_{i:09d}" for i in range(start, stop, step)]


def uuid_ids(start: int, stop: int, step: int = 1) -> list[str]:
    return [
        str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15 + 1) % 2**128)) for i in range(start, stop, step)
    ]


def batches(ids: list[str], size: int) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Timer:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    @contextlib.contextmanager
    def step(self, name: str, note: str = "") -> Iterator[list[str]]:
        extra = [note]
        start = time.perf_counter()
        yield extra
        elapsed = time.perf_counter() - start
        self.rows.append((name, elapsed, extra[-1]))
        print(f"  {name:<46} {elapsed:8.2f} s  {extra[-1]}", flush=True)


@contextlib.contextmanager
def backend_config(backend: str, keep: bool) -> Iterator[tuple[StateConfig, Path]]:
    work = Path(tempfile.mkdtemp(prefix=f"cohortops-bench-{backend}-"))
    if backend == "sqlite":
        try:
            yield StateConfig(path=work / "state.db"), work
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
        return
    import psycopg

    schema = f"cohortops_bench_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield StateConfig(backend="postgres", url=Secret(url)), work
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            if not keep:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        shutil.rmtree(work, ignore_errors=True)


def load(store: Store, t: Timer, groups: list[list[str]], op: str, audit: bool, label: str) -> None:
    total = sum(len(g) for g in groups)
    start = time.perf_counter()
    with t.step(f"{label}: record_batch calls (caller time)") as note:
        for number, group in enumerate(groups):
            meta = {"apply_id": "bench", "batch": number} if audit else None
            store.record_batch(COHORT, op, group, meta)  # type: ignore[arg-type]
        note.append(f"{total / (time.perf_counter() - start):,.0f} ids/s handed over")
    with t.step(f"{label}: flush (rest of the writer's work)"):
        store.flush()
    elapsed = time.perf_counter() - start
    print(f"  {label}: durable after {elapsed:.2f} s = {total / elapsed:,.0f} ids/s", flush=True)


def run(backend: str, members: int, kind: str, audit: bool, keep: bool) -> None:
    make = ext_ids if kind == "ext" else uuid_ids
    print(f"\n== {backend}: {members:,} {kind} ids, audit per batch: {audit}", flush=True)
    initial = batches(make(0, members), 75)
    churn = max(1, members // 100)
    removals = batches(make(0, members, members // churn), 75)
    additions = batches(make(members, members + churn), 75)
    t = Timer()
    with backend_config(backend, keep) as (config, work), open_store(config, cwd=work) as store:
        with store.lock("benchmark", "bench@localhost"):
            store.upsert_cohort(COHORT, {"source": "bench"})
            load(store, t, initial, "add", audit, "first load")
            with t.step("recorded_members (deltas only, before compaction)") as note:
                rec = store.recorded_members(COHORT)
                note.append(f"count {rec.count:,}")
            with t.step("compact (first snapshot from the deltas)"):
                store.compact(COHORT)
            with t.step("recorded_members on the snapshot (first call)") as note:
                rec = store.recorded_members(COHORT)
                size = rec.snapshot.stat().st_size if rec.snapshot else 0
                note.append(f"count {rec.count:,}, parquet {size / 1e6:.1f} MB")
            with t.step("recorded_members on the snapshot (again)") as note:
                note.append(f"count {store.recorded_members(COHORT).count:,}")
            load(store, t, removals, "remove", audit, "1% removes")
            load(store, t, additions, "add", audit, "1% adds")
            with t.step("recorded_members (snapshot + 1%+1% deltas)") as note:
                rec = store.recorded_members(COHORT)
                note.append(
                    f"count {rec.count:,}, deltas +{len(rec.delta_added):,} "
                    f"-{len(rec.delta_removed):,}"
                )
            with t.step("compact (fold 1%+1% churn)") as note:
                store.compact(COHORT)
                note.append(f"count {store.recorded_members(COHORT).count:,}")
            if audit:
                probe = removals[len(removals) // 2][0]
                with t.step("member_timeline (one member)") as note:
                    note.append(f"{len(store.member_timeline(probe))} events")
                with t.step("verify_audit (whole log)") as note:
                    problem = store.verify_audit()
                    note.append("intact" if problem is None else str(problem))
        print(
            f"  on-disk size of {work}: {dir_size(work) / 1e6:,.0f} MB; peak RSS {rss_mb():,.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--ids", choices=["ext", "uuid"], default="ext")
    parser.add_argument("--no-audit", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the sqlite directory / pg schema")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, args.members, args.ids, not args.no_audit, args.keep)


if __name__ == "__main__":
    main()
