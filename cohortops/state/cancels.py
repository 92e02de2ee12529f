"""Cancel requests for running applies: a row per apply id, written without the state lock.

``cohortops cancel`` inserts the row from any machine sharing the state; the apply (which holds
the lock) polls for it. Not a state change: the serial does not move.
"""

from __future__ import annotations

import datetime as dt

from cohortops.state.codec import parse_ts, ts
from cohortops.state.sqlcore import Db


def request(db: Db, apply_id: str, who: str, at: dt.datetime) -> None:
    with db.write(fence=None, bump=False, doing="recording a cancel request") as tx:
        tx.execute(
            "INSERT INTO cohortops_cancels (apply_id, who, requested_at) VALUES (?, ?, ?) "
            "ON CONFLICT (apply_id) DO NOTHING",
            (apply_id, who, ts(at)),
        )


def requested(db: Db, apply_id: str) -> tuple[str, dt.datetime] | None:
    with db.read("reading cancel requests") as tx:
        row = tx.one(
            "SELECT who, requested_at FROM cohortops_cancels WHERE apply_id = ?", (apply_id,)
        )
    return None if row is None else (str(row[0]), parse_ts(str(row[1])))
