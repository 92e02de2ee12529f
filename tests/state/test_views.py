"""The PostgreSQL views of docs/state.md, and its three example queries, run as written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from cohortops.state import Store
from cohortops.state.logs import RunRecord

from .conftest import Backend
from .helpers import WHO

pytestmark = pytest.mark.postgres
DOC = Path(__file__).resolve().parents[2] / "docs" / "state.md"


def doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)


def batch(store: Store, cohort: str, op: str, ids: list[str], baseline: bool = False) -> None:
    audit = {
        "apply_id": "a1",
        "action": op,
        "members": ids,
        "remote_id": cohort,
        "baseline": baseline,
    }
    store.record_batch(cohort, op, ids, audit=audit)  # type: ignore[arg-type]
    store.flush()


def run(store: Store, cohort: str, at: dt.datetime, total: int, failed: int = 0) -> None:
    store.record_run(
        RunRecord(cohort, "manual", at, at, "partial" if failed else "success", 0, 0, failed, total)
    )


def test_views_and_documented_queries(make_backend: Callable[[str], Backend]) -> None:
    backend = make_backend("postgres")
    now = dt.datetime.now(dt.UTC)
    backend.clock.now = now - dt.timedelta(days=30)
    store = backend.open()
    with store.lock("test", WHO):
        store.upsert_cohort("churn-risk", {"remote_id": "churn-risk"})
        store.upsert_cohort("other", {"remote_id": "other"})
        batch(store, "churn-risk", "add", ["old1", "old2"])
        batch(store, "other", "add", ["x"])
        run(store, "churn-risk", now - dt.timedelta(days=30), 2)
        backend.clock.now = now - dt.timedelta(days=3)
        batch(store, "churn-risk", "add", ["new1", "new2", "new3"])
        batch(store, "churn-risk", "remove", ["old2", "new3"])
        run(store, "churn-risk", now - dt.timedelta(days=3), 3, failed=2)
        run(store, "churn-risk", now - dt.timedelta(days=3) + dt.timedelta(seconds=1), 3)
    store.close()

    members = backend.sql("SELECT cohort_id, member_id FROM cohortops_v_members ORDER BY 1, 2")
    assert members == [
        ("churn-risk", "new1"),
        ("churn-risk", "new2"),
        ("churn-risk", "old1"),
        ("other", "x"),
    ]
    kinds = backend.sql("SELECT DISTINCT kind FROM cohortops_v_audit")
    assert ("batch",) in kinds

    entered, failed, sizes = doc_queries()
    assert [r[0] for r in backend.sql(entered)] == ["new1", "new2"]
    assert [(r[1], r[3], r[4]) for r in backend.sql(failed)] == [("churn-risk", "partial", 2)]
    days = [(r[0], r[1], r[2]) for r in backend.sql(sizes)]
    assert days == [
        ("churn-risk", (now - dt.timedelta(days=30)).date(), 2),
        ("churn-risk", (now - dt.timedelta(days=3)).date(), 3),
    ]


def test_views_follow_a_rename_and_drop_a_forgotten_cohort(
    make_backend: Callable[[str], Backend],
) -> None:
    backend = make_backend("postgres")
    store = backend.open()
    with store.lock("test", WHO):
        store.upsert_cohort("old", {"remote_id": "old"})
        batch(store, "old", "add", ["a", "b"])
        store.rename_cohort("old", "new")
        store.append_audit("cohort.rename", WHO, "new", {"from": "old"})
        store.upsert_cohort("gone", {"remote_id": "gone"})
        batch(store, "gone", "add", ["z"])
        batch(store, "gone", "remove", ["z"])
        store.forget_cohort("gone")
    store.close()
    rows = backend.sql("SELECT cohort_id, member_id FROM cohortops_v_members ORDER BY 1, 2")
    assert rows == [("new", "a"), ("new", "b")]
