"""Cohort rows: recorded settings, timestamps, remote cohort facts and the snapshot pointer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cohortops.errors import StateError
from cohortops.state.codec import dumps, loads_mapping, parse_ts, parse_ts_opt
from cohortops.state.snapshot import CohortRecord
from cohortops.state.snapstore import SnapInfo
from cohortops.state.sqlcore import Row, Tx

_COLUMNS = (
    "cohort_id, settings, created_at, last_apply_at, remote_created, remote_name, "
    "snap_generation, snap_ref, snap_hash, snap_size, snap_count"
)


@dataclass(frozen=True)
class CohortRow:
    cohort_id: str
    settings: Mapping[str, Any]
    created_at: dt.datetime
    last_apply_at: dt.datetime | None
    remote_created: bool
    remote_name: str | None
    snap: SnapInfo

    def record(self, member_count: int) -> CohortRecord:
        return CohortRecord(
            cohort_id=self.cohort_id,
            settings=self.settings,
            member_count=member_count,
            created_at=self.created_at,
            last_apply_at=self.last_apply_at,
            remote_created=self.remote_created,
            remote_name=self.remote_name,
        )


def _row(row: Row) -> CohortRow:
    cohort_id, settings, created, applied, remote_created, remote_name, gen, ref, sha, size, n = row
    return CohortRow(
        cohort_id=cohort_id,
        settings=loads_mapping(settings),
        created_at=parse_ts(created),
        last_apply_at=parse_ts_opt(applied),
        remote_created=bool(remote_created),
        remote_name=remote_name,
        snap=SnapInfo(int(gen), ref, sha, int(size), int(n)),
    )


def load(tx: Tx, cohort_id: str) -> CohortRow | None:
    row = tx.one(f"SELECT {_COLUMNS} FROM cohortops_cohorts WHERE cohort_id = ?", (cohort_id,))
    return None if row is None else _row(row)


def load_all(tx: Tx) -> list[CohortRow]:
    return [_row(row) for row in tx.all(f"SELECT {_COLUMNS} FROM cohortops_cohorts ORDER BY 1")]


def ids(tx: Tx) -> set[str]:
    return {row[0] for row in tx.all("SELECT cohort_id FROM cohortops_cohorts")}


def require(tx: Tx, cohort_id: str) -> CohortRow:
    row = load(tx, cohort_id)
    if row is None:
        raise StateError(
            f"Cohort {cohort_id} is not in the state.",
            hint="Check the id with `cohortops state list`.",
        )
    return row


def upsert(
    tx: Tx,
    cohort_id: str,
    settings: Mapping[str, Any],
    remote_created: bool | None,
    remote_name: str | None,
    now: str,
) -> None:
    text = dumps(dict(settings))
    if load(tx, cohort_id) is None:
        tx.execute(
            "INSERT INTO cohortops_cohorts (cohort_id, settings, created_at, remote_created, "
            "remote_name) VALUES (?, ?, ?, ?, ?)",
            (cohort_id, text, now, int(bool(remote_created)), remote_name),
        )
        return
    tx.execute("UPDATE cohortops_cohorts SET settings = ? WHERE cohort_id = ?", (text, cohort_id))
    if remote_created is not None:
        tx.execute(
            "UPDATE cohortops_cohorts SET remote_created = ? WHERE cohort_id = ?",
            (int(remote_created), cohort_id),
        )
    if remote_name is not None:
        tx.execute(
            "UPDATE cohortops_cohorts SET remote_name = ? WHERE cohort_id = ?",
            (remote_name, cohort_id),
        )


def rename(tx: Tx, old: str, new: str) -> None:
    require(tx, old)
    if load(tx, new) is not None:
        raise StateError(
            f"Cannot move cohort {old} to {new}: {new} is already in the state.",
            hint=f"Forget one of them first with `cohortops state forget {new}`.",
        )
    for table in ("cohortops_cohorts", "cohortops_deltas", "cohortops_runs"):
        tx.execute(f"UPDATE {table} SET cohort_id = ? WHERE cohort_id = ?", (new, old))


def delete(tx: Tx, cohort_id: str) -> None:
    tx.execute("DELETE FROM cohortops_deltas WHERE cohort_id = ?", (cohort_id,))
    tx.execute("DELETE FROM cohortops_cohorts WHERE cohort_id = ?", (cohort_id,))


def set_applied(tx: Tx, cohort_id: str, at: str) -> None:
    require(tx, cohort_id)
    tx.execute(
        "UPDATE cohortops_cohorts SET last_apply_at = ? WHERE cohort_id = ?", (at, cohort_id)
    )


def set_snapshot(tx: Tx, cohort_id: str, snap: SnapInfo) -> None:
    tx.execute(
        "UPDATE cohortops_cohorts SET snap_generation = ?, snap_ref = ?, snap_hash = ?, "
        "snap_size = ?, snap_count = ? WHERE cohort_id = ?",
        (snap.generation, snap.ref, snap.sha256, snap.size, snap.count, cohort_id),
    )
