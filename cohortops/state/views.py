"""Stable, documented SQL views over a PostgreSQL state (``docs/state.md``).

The tables are cohortops' own business (members live in compressed blobs); these views are the
interface analysts may rely on. Their columns only ever grow. Timestamps are ``timestamptz``
and audit data is ``jsonb``.

- ``cohortops_v_runs``: one row per cohort run (trigger, result, counts, apply id).
- ``cohortops_v_audit``: the audit log.
- ``cohortops_v_member_events``: one row per member per acknowledged batch (add or remove),
  read from the audit log, which records each batch in the transaction that records its
  members; the cohort id follows a later rename (one hop).
- ``cohortops_v_members``: current members per declared cohort, with ``since`` (when the add
  that made them a member was acknowledged).
"""

from __future__ import annotations

VIEWS_VERSION = 1

VIEWS = (
    """
CREATE OR REPLACE VIEW cohortops_v_runs AS
SELECT run_id, cohort_id, run_trigger AS trigger, started_at::timestamptz AS started_at,
       ended_at::timestamptz AS ended_at, result, added, removed, failed, total_members, apply_id
FROM cohortops_runs""",
    """
CREATE OR REPLACE VIEW cohortops_v_audit AS
SELECT seq, at::timestamptz AS at, kind, actor, cohort_id, data::jsonb AS data, hash
FROM cohortops_audit""",
    """
CREATE OR REPLACE VIEW cohortops_v_member_events AS
WITH renames AS (
  SELECT seq, data::jsonb ->> 'from' AS old_id, cohort_id AS new_id
  FROM cohortops_audit WHERE kind = 'cohort.rename'
)
SELECT a.seq, a.at::timestamptz AS at, a.data::jsonb ->> 'apply_id' AS apply_id,
       coalesce((SELECT r.new_id FROM renames r
                 WHERE r.old_id = a.cohort_id AND r.seq > a.seq
                 ORDER BY r.seq DESC LIMIT 1), a.cohort_id) AS cohort_id,
       m.member_id,
       coalesce(a.data::jsonb ->> 'action', a.data::jsonb ->> 'op') AS action,
       coalesce((a.data::jsonb ->> 'baseline')::boolean, false) AS baseline
FROM cohortops_audit a
CROSS JOIN LATERAL jsonb_array_elements_text(a.data::jsonb -> 'members') AS m(member_id)
WHERE a.kind = 'batch'""",
    """
CREATE OR REPLACE VIEW cohortops_v_members AS
SELECT cohort_id, member_id, at AS since
FROM (
  SELECT DISTINCT ON (e.cohort_id, e.member_id) e.cohort_id, e.member_id, e.action, e.at
  FROM cohortops_v_member_events e
  JOIN cohortops_cohorts c ON c.cohort_id = e.cohort_id AND e.at >= c.created_at::timestamptz
  ORDER BY e.cohort_id, e.member_id, e.seq DESC
) latest
WHERE action = 'add'""",
)
