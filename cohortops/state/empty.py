"""The state of a project that has none yet: empty, in memory, never saved.

Commands that only read (plan, show, state list, audit, history, drift) open this instead of
creating a state file or tables. Its lineage is ``""`` so a plan made from it says "no state
yet", and ``apply`` of that plan accepts only a state that is still new (serial 0).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from cohortops.state.logs import StoreOptions
from cohortops.state.snapstore import FileSnapshots
from cohortops.state.sqlcore import SQLITE, Db, ensure_schema
from cohortops.state.sqlite import FileLock
from cohortops.state.sqlstore import SqlStore

NO_STATE_LINEAGE = ""


def open_empty(options: StoreOptions) -> SqlStore:
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    db = Db(conn, SQLITE, "no state yet", (sqlite3.Error,))
    with db.transaction("BEGIN IMMEDIATE", "preparing an empty state") as tx:
        ensure_schema(tx, options, "no state yet")
        tx.execute("UPDATE cohortops_meta SET lineage = ? WHERE id = 1", (NO_STATE_LINEAGE,))
    # Nothing is written through these paths: readers only read.
    scratch = Path(tempfile.gettempdir()) / "cohortops-no-state"
    return SqlStore(
        db, FileSnapshots(scratch / "snapshots"), lambda: FileLock(scratch / "lock"), options
    )
