"""`state push-mirror`: rebuild a cohort's warehouse mirror from the recorded state.

The mirror is a copy of the compacted snapshot in the cohort's own database (``diff:
warehouse``); plans rebuild an outdated one themselves, this rebuilds it on demand (after the
table was dropped or edited, or to pay the copy's cost outside a plan).
"""

from __future__ import annotations

from cohortops.config import Config
from cohortops.config.model import SqlSource
from cohortops.errors import CohortopsError
from cohortops.state import Store


def push_mirror(config: Config, store: Store, cohort_id: str) -> str:
    """Push the recorded snapshot of ``cohort_id``; returns the line to show."""
    from cohortops.diff.mirror import push_mirror as push
    from cohortops.diff.warehouse_conn import connect
    from cohortops.diff.warehouse_engine import snapshot_rows

    cohort = config.cohorts.get(cohort_id)
    if cohort is None or not isinstance(cohort.source, SqlSource):
        raise CohortopsError(
            f"Cohort {cohort_id} has no `sql:` source in the configuration, so no warehouse mirror.",
            hint="push-mirror takes a declared cohort whose source sets `diff: warehouse`.",
        )
    source = cohort.source
    if source.diff != "warehouse":
        raise CohortopsError(
            f"Cohort {cohort_id} diffs locally (`diff: {source.diff}`): it has no warehouse mirror.",
            hint="Set `diff: warehouse` in the cohort's `source.sql` first.",
        )
    recorded = store.recorded_members(cohort_id)
    wh = connect(source, cohort_id)
    try:
        info = push(
            wh, source.mirror_schema, cohort_id, recorded.snapshot, snapshot_rows(recorded.snapshot)
        )
    finally:
        wh.close()
    return (
        f"Pushed the mirror of {cohort_id}: {info.row_count} members from snapshot "
        f"{info.snapshot} into {info.schema}.{info.table} on {wh.label}; each apply folds its "
        "changes into it."
    )
