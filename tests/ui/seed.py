"""A project whose state looks lived-in: runs, failures, audit entries, hostile ids.

The state is written through the Store interface (as the applier would), so the dashboard tests
need no Braze sandbox; one plan file is made by the real planner against it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from cohortops.operations.context import App
from cohortops.plan.planfile import write_plan
from cohortops.state import RunRecord

XSS_ID = "<img src=x onerror=alert(1)>"
MD_ID = "](javascript:alert(1))"
SCRIPT = "<script>alert(2)</script>"
HOSTILE = (XSS_ID, MD_ID, SCRIPT, '"><svg onload=alert(3)>')
STATE_ONLY = f"old {XSS_ID}"  # a cohort recorded in the state and no longer declared
FAIL_REASON = f"Braze answered 400 for {XSS_ID} [click]{MD_ID}"
CALM_REASON = (
    "Braze answered 503 Service Unavailable five times for /users/track; the next run retries"
)
START = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)


def members(start: int, stop: int) -> list[str]:
    return [f"user_{i:05d}" for i in range(start, stop)]


def write_config(
    root: Path, growth: list[str], imports: list[str], *, hostile: bool = True
) -> Path:
    configs = root / "configs"
    (configs / "data").mkdir(parents=True, exist_ok=True)
    for name, ids in (("growth", growth), ("imports", imports)):
        (configs / "data" / f"{name}.csv").write_text("user_id\n" + "".join(f"{m}\n" for m in ids))
    document = {
        "version": 1,
        "state": {"backend": "sqlite", "path": "../state/state.db"},
        "destinations": {
            "braze": {"rest_endpoint": "http://127.0.0.1:9", "api_key": "${env:BRAZE_API_KEY}"}
        },
        "connections": {
            "attr": {
                "partner": "lytics",
                "destination": "braze",
                "delivery": {"method": "attribute", "attribute": "segs", "max_array_length": 100},
            },
            "imp": {
                "partner": "kubit",
                "destination": "braze",
                "delivery": {
                    "method": "cohort_import",
                    "partner_api_key": "${env:KUBIT_PARTNER_KEY}",
                    "client_secret": "${env:BRAZE_DATA_IMPORT_KEY}",
                },
            },
        },
        "cohorts": {
            "growth": {
                "name": f"Growth {SCRIPT}" if hostile else "Growth: active in 7 of 30 days",
                "connection": "attr",
                "identifier": "external_id",
                "source": {"file": "data/growth.csv", "column": "user_id"},
                "schedule": {"every": "daily", "at": "06:00", "timezone": "Europe/Paris"},
                "guards": {"max_remove_percent": 50},
            },
            "imports": {
                "name": f"Imports {MD_ID}" if hostile else "Kubit import: trial users",
                "connection": "imp",
                "identifier": "external_id",
                "source": {"file": "data/imports.csv", "column": "user_id"},
            },
        },
    }
    (configs / "cohortops.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return configs


def seed(root: Path, runs: int = 30, *, hostile: bool = True) -> App:
    """``runs`` runs of ``growth`` (one failed, with a reason), a few of the others.

    ``hostile`` puts markup and Markdown links in ids, names, reasons and pull requests.
    """
    bad = HOSTILE if hostile else ()
    growth = members(0, 300) + list(bad)
    configs = write_config(root, growth, members(100, 160), hostile=hostile)
    app = App(configs)
    with app.store() as store, store.lock("seed", "seeder@test"):
        retired = STATE_ONLY if hostile else "spring-promo"
        for cohort_id in ("growth", "imports", retired):
            store.upsert_cohort(cohort_id, {"seeded": True})
        size = 0
        for n in range(runs):
            at = START + dt.timedelta(days=n)
            apply_id = f"a{n:04d}"
            store.append_audit(
                "apply.start",
                "seeder@test",
                None,
                {
                    "apply_id": apply_id,
                    "pull_request": f"#{n} {SCRIPT}" if hostile else f"#{100 + n}",
                    "git_commit": f"c{n:06x}",
                },
            )
            adds = members(n * 10, n * 10 + 20 + n)
            removes = members(n * 10 - 8, n * 10) if n else []
            if n == 3:
                adds = [*adds, *bad]
            store.record_batch("growth", "add", adds, audit={"apply_id": apply_id, "action": "add"})
            if removes:
                store.record_batch(
                    "growth", "remove", removes, audit={"apply_id": apply_id, "action": "remove"}
                )
            store.flush()
            size = store.recorded_members("growth").count
            failed = n == runs - 5
            store.record_run(
                RunRecord(
                    cohort_id="growth",
                    trigger="schedule",
                    started_at=at,
                    ended_at=at + dt.timedelta(seconds=40),
                    result="failed" if failed else "success",
                    added=len(adds),
                    removed=len(removes),
                    failed=3 if failed else 0,
                    total_members=size,
                    apply_id=apply_id,
                    error=(FAIL_REASON if hostile else CALM_REASON) if failed else None,
                )
            )
        store.record_batch(retired, "add", list(bad) or members(0, 5), audit={"apply_id": "a-old"})
        store.record_batch("imports", "add", members(100, 140), audit={"apply_id": "a-imp"})
        store.flush()
        for cohort_id in ("growth", "imports", retired):
            store.compact(cohort_id)
    with app.store() as store:
        write_plan(app.plan(store), root / "review.plan")
    return app
