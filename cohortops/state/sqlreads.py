"""The dashboard's lock-free reads for the SQL backends, answered from indexes.

Mixed into :class:`~cohortops.state.sqlstore.SqlStore` ahead of :class:`Store`, whose generic
defaults (a scan of the whole log) these replace.
"""

from __future__ import annotations

from collections.abc import Sequence

from cohortops.membership import MemberOp
from cohortops.state import auditlog, group_commit
from cohortops.state.logs import AuditEntry, MemberEvent
from cohortops.state.sqlcore import Db


class DashboardReads:
    _db: Db

    def recent_audit(
        self,
        cohort_id: str | None = None,
        limit: int = 50,
        kinds: Sequence[str] = (),
        *,
        unscoped: bool = False,
    ) -> list[AuditEntry]:
        return auditlog.recent(self._db, cohort_id, limit, kinds, unscoped=unscoped)

    def member_timeline(self, member_id: str) -> list[MemberEvent]:
        return auditlog.timeline(self._db, member_id)

    def pending_changes(self) -> dict[tuple[str, MemberOp], int]:
        with self._db.read() as tx:
            rows = tx.all(
                "SELECT cohort_id, op, sum(n) FROM cohortops_deltas GROUP BY cohort_id, op"
            )
        ops: dict[int, MemberOp] = {
            group_commit.OPS["add"]: "add",
            group_commit.OPS["remove"]: "remove",
        }
        return {(str(c), ops[int(op)]): int(n) for c, op, n in rows if int(op) in ops}
