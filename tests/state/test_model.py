"""Member storage against a Python set model: any sequence of adds, removes, flushes and
compactions must leave exactly the model's set recorded, with the right count."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortops.state import Store

from .helpers import locked, recorded_set

MEMBERS = st.sampled_from([f"m{i:02d}" for i in range(24)])
OPERATION: st.SearchStrategy[tuple[str, list[str]]] = st.one_of(
    st.tuples(st.sampled_from(["add", "remove"]), st.lists(MEMBERS, max_size=8)),
    st.tuples(st.just("flush"), st.just([])),
    st.tuples(st.just("compact"), st.just([])),
)
_cohorts = itertools.count()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(OPERATION, max_size=12))
def test_recorded_members_follow_the_set_model(
    store: Store, operations: list[tuple[str, Any]]
) -> None:
    cohort = f"model-{next(_cohorts)}"
    model: set[str] = set()
    with locked(store):
        store.upsert_cohort(cohort, {})
        for op, members in operations:
            if op == "add":
                store.record_batch(cohort, "add", members)
                model |= set(members)
            elif op == "remove":
                store.record_batch(cohort, "remove", members)
                model -= set(members)
            elif op == "flush":
                store.flush()
                assert recorded_set(store, cohort) == model
            else:
                store.compact(cohort)
                assert recorded_set(store, cohort) == model
        store.flush()
        assert recorded_set(store, cohort) == model
        assert list(store.members_iter(cohort)) == sorted(model)
        assert store.snapshot().cohorts[cohort].member_count == len(model)
        store.compact(cohort)
    recorded = store.recorded_members(cohort)
    assert len(recorded.delta_added) == len(recorded.delta_removed) == 0
    assert recorded_set(store, cohort) == model
