"""Dashboard page latency over a large state: 10M recorded members and 1,000 runs.

    .venv/bin/python benchmarks/ui_pages.py --members 10000000 --runs 1000 [--keep DIR]

Builds (or reuses, with ``--keep DIR``) a SQLite state the way an apply writes it: one cohort
``big`` loaded in 75-id batches with a per-batch audit entry, then ``--runs`` runs of 75 adds and
75 removes each (every 50th failed, with its reason), four small cohorts beside it, and a saved
plan of ``big`` with 1% churn (100k adds, 100k removes at 10M). Then it serves the dashboard
in-process and times every page: the first request (cold: store opened, caches empty) and the
median and worst of 7 warm ones. Target: every page ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from cohortops.operations.context import App
from cohortops.plan.planfile import write_plan
from cohortops.state import RunRecord, Store

BATCH = 75
SMALL = ("alpha", "beta", "gamma", "delta")


def ids(start: int, stop: int) -> list[str]:
    return [f"user_{i:09d}" for i in range(start, stop)]


def write_config(root: Path, members: int) -> Path:
    configs = root / "configs"
    (configs / "data").mkdir(parents=True, exist_ok=True)
    churn = members // 100
    with (configs / "data" / "big.csv").open("w") as out:  # desired: 1% leave, 1% join
        out.write("user_id\n")
        for start in range(churn, members + churn, 1_000_000):
            out.write(
                "".join(f"{m}\n" for m in ids(start, min(start + 1_000_000, members + churn)))
            )
    for name in SMALL:
        (configs / "data" / f"{name}.csv").write_text("user_id\n" + "\n".join(ids(0, 100)) + "\n")
    cohorts = {
        name: {
            "connection": "attr",
            "identifier": "external_id",
            "source": {"file": f"data/{name}.csv", "column": "user_id"},
            "schedule": {"every": "daily", "at": "06:00", "timezone": "UTC"},
        }
        for name in ("big", *SMALL)
    }
    document = {
        "version": 1,
        "state": {"backend": "sqlite", "path": "../state/state.db"},
        "destinations": {"braze": {"rest_endpoint": "http://127.0.0.1:9", "api_key": "${env:K}"}},
        "connections": {
            "attr": {
                "partner": "lytics",
                "destination": "braze",
                "delivery": {"method": "attribute", "attribute": "segs"},
            }
        },
        "cohorts": cohorts,
    }
    (configs / "cohortops.yaml").write_text(yaml.safe_dump(document))
    return configs


def seed(store: Store, members: int, runs: int) -> None:
    start = time.perf_counter()
    with store.lock("bench", "bench@ui"):
        for name in ("big", *SMALL):
            store.upsert_cohort(name, {"bench": True})
        for n, first in enumerate(range(0, members, BATCH)):
            batch = ids(first, min(first + BATCH, members))
            store.record_batch("big", "add", batch, {"apply_id": "load", "batch": n})
        store.flush()
        print(f"  first load: {time.perf_counter() - start:.1f} s", flush=True)
        compacting = time.perf_counter()
        store.compact("big")  # builds the member index of the 136k load entries too
        print(f"  first compaction: {time.perf_counter() - compacting:.1f} s", flush=True)
        at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        for n in range(runs):
            apply_id = f"run{n:05d}"
            store.append_audit(
                "apply.start", "bench@ui", None, {"apply_id": apply_id, "pull_request": f"#{n}"}
            )
            adds = ids(members + n * BATCH, members + (n + 1) * BATCH)
            removes = ids(n * BATCH, (n + 1) * BATCH)
            store.record_batch("big", "add", adds, {"apply_id": apply_id})
            store.record_batch("big", "remove", removes, {"apply_id": apply_id})
            failed = n % 50 == 49
            when = at + dt.timedelta(hours=n)
            store.record_run(
                RunRecord("big", "schedule", when, when + dt.timedelta(seconds=30),
                          "failed" if failed else "success", BATCH, BATCH, 3 if failed else 0,
                          members, apply_id, error="HTTP 503" if failed else None)
            )  # fmt: skip
            for name in SMALL:
                if n % 100 == 0:
                    store.record_batch(name, "add", ids(n, n + 10), {"apply_id": apply_id})
                    store.record_run(RunRecord(name, "schedule", when, when, "success", 10))
        store.flush()
        compacting = time.perf_counter()
        for name in ("big", *SMALL):
            store.compact(name)
        print(f"  last compactions: {time.perf_counter() - compacting:.1f} s", flush=True)
        # A small run after the index point: fewer entries than member_index.MIN_TAIL, so its
        # compaction leaves them to the member page's scan of the not-yet-indexed tail.
        store.record_batch(
            "big", "add", ids(2 * members, 2 * members + BATCH), {"apply_id": "tail"}
        )
        store.record_batch("big", "remove", ids(members, members + 1), {"apply_id": "tail"})
        store.flush()
        store.compact("big")
    print(f"  seeded in {time.perf_counter() - start:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="build once in DIR, reuse it afterwards")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="cohortops-ui-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    configs = root / "configs"
    app = App(configs)
    if not (root / "state" / "state.db").exists():
        print(f"Building {args.members:,} members and {args.runs:,} runs in {root}", flush=True)
        write_config(root, args.members)
        with app.store() as store:
            seed(store, args.members, args.runs)
        start = time.perf_counter()
        with app.store() as store:
            write_plan(app.plan(store), configs / "big.plan")
        print(f"  plan saved in {time.perf_counter() - start:.1f} s", flush=True)

    print("load average:", Path("/proc/loadavg").read_text().strip(), flush=True)
    from starlette.testclient import TestClient

    from cohortops.ui import build_app

    client = TestClient(build_app(App(configs)), base_url="http://127.0.0.1:8400")
    plan_key = client.get("/plans").text.split('href="/plan/')[1].split('"')[0]
    pages = {
        "overview": "/",
        "cohort (newest 200 runs)": "/cohort/big",
        "cohort, all 1,000 runs": "/cohort/big?runs=all",
        "small cohort": "/cohort/alpha",
        "member, 1 change": "/member?id=user_005000000",
        "member, 2 changes": "/member?id=user_000000100",
        "member, 2 changes, one after the index": f"/member?id=user_{args.members:09d}",
        "audit (verdict pending)": "/audit",
        "plans list": "/plans",
        "plan (100k+100k)": f"/plan/{plan_key}",
        "progress JSON": "/api/progress",
    }
    print(f"\n{'page':<42} {'cold ms':>8} {'median ms':>10} {'worst ms':>9}  bytes")
    for name, url in pages.items():
        times = []
        for _ in range(8):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        warm = times[1:]
        print(
            f"{name:<42} {times[0]:8.0f} {statistics.median(warm):10.0f} {max(warm):9.0f}"
            f"  {len(response.content):,}",
            flush=True,
        )
    deadline = time.monotonic() + 120
    while "intact" not in (text := client.get("/audit").text) and time.monotonic() < deadline:
        time.sleep(0.5)
    start = time.perf_counter()
    client.get("/audit")
    print(f"{'audit (verdict cached)':<42} {'':8} {(time.perf_counter() - start) * 1000:10.0f}")
    print("audit verdict:", "intact" if "intact" in text else "not ready")
    print("load average:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
