"""An apply indexes the audit log once, after its last cohort, not between cohorts."""

from __future__ import annotations

from typing import Any

import pytest

from cohortops.state import member_index

from .conftest import MakeProject
from .harness import CohortSpec, ids


def test_an_apply_indexes_the_log_once_after_its_cohorts(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(member_index, "MIN_TAIL", 1)
    refresh = member_index.refresh
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> member_index.Segment | None:
        calls.append(1)
        return refresh(*args, **kwargs)

    monkeypatch.setattr(member_index, "refresh", counted)
    project = make_project("sqlite", population=500)
    project.write(
        {
            "a": CohortSpec("attribute", ids("u", 0, 40)),
            "b": CohortSpec("attribute", ids("u", 20, 60)),
        }
    )
    project.apply()
    assert len(calls) == 1
    (head,) = project.sql("SELECT audit_head_seq FROM cohortops_meta")[0]
    assert project.sql("SELECT lo, hi FROM cohortops_index_segments") == [(0, head)]
    with project.store() as store:
        assert [e.cohort_id for e in store.member_timeline("u000030")] == ["a", "b"]
