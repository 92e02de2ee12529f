"""After an apply: fold what it changed into the warehouse mirrors, instead of rebuilding them.

An apply compacts each cohort it finishes (in the state layer), which gives the cohort a new
snapshot; a mirror still names the old one, so the next plan would push the whole snapshot
again. Here the changes between the two snapshots — the acknowledged changes recorded before
the apply, then the apply's own batches, read back from the audit log — go into the mirror in
one transaction (:func:`cohortops.diff.mirror.fold_mirror`). Whatever cannot be accounted for
(a destroy, a change other than an acknowledged batch, a failed fold) leaves the mirror naming
the old snapshot: stale, so the next plan rebuilds it, never wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cohortops.apply.applier import ApplyResult
from cohortops.config import Config
from cohortops.config.model import SqlSource
from cohortops.errors import CohortopsError
from cohortops.sources.hygiene import one_line
from cohortops.state import Store
from cohortops.state.logs import AuditEntry

if TYPE_CHECKING:
    import pyarrow as pa

# Audit kinds of a cohort that leave its members as the batches say.
_NEUTRAL = frozenset({"cohort.rename"})


@dataclass(frozen=True)
class Applied:
    """An apply's result and the lines of the mirror folds that followed it."""

    result: ApplyResult
    mirror_lines: tuple[str, ...]


@dataclass(frozen=True)
class Before:
    """A warehouse cohort as the apply found it."""

    cohort_id: str
    source: SqlSource
    snapshot: str  # the snapshot's key, which a current mirror names
    added: pa.Array  # acknowledged changes not in that snapshot (strings, distinct, disjoint)
    removed: pa.Array
    audit_seq: int  # the audit log's head: the apply's batches come after it


def before_apply(config: Config, store: Store, cohort_ids: Iterable[str]) -> list[Before]:
    """What the fold needs, for each ``diff: warehouse`` cohort about to be applied."""
    sources: dict[str, SqlSource] = {}
    for cohort_id in cohort_ids:
        cohort = config.cohorts.get(cohort_id)
        source = cohort.source if cohort is not None else None
        if isinstance(source, SqlSource) and source.diff == "warehouse":
            sources[cohort_id] = source
    if not sources:
        return []  # no warehouse cohort: an apply loads none of the diff modules
    from cohortops.diff.mirror import snapshot_key
    from cohortops.diff.warehouse_result import EMPTY, deltas

    head = store.audit_head()[0]  # nothing is appended before the apply starts
    found: list[Before] = []
    for cohort_id, source in sources.items():
        snapshot, added, removed = None, EMPTY, EMPTY  # new: its plan pushed an empty mirror
        if store.has_cohort(cohort_id):
            recorded = store.recorded_members(cohort_id)
            snapshot = recorded.snapshot
            added, removed = deltas(recorded.delta_added, recorded.delta_removed)
        found.append(Before(cohort_id, source, snapshot_key(snapshot), added, removed, head))
    return found


def after_apply(store: Store, before: Sequence[Before]) -> Iterator[str]:
    """Fold each cohort's applied changes into its mirror; one line per mirror touched."""
    for cohort in before:
        try:
            line = _fold(store, cohort)
        except Exception as exc:  # the apply is done and recorded: a failed fold only leaves
            # the mirror stale, which the next plan sees and repairs
            text = exc.message if isinstance(exc, CohortopsError) else one_line(repr(exc))
            line = (
                f"Mirror of {cohort.cohort_id} not updated ({text.rstrip('.')}); "
                "the next plan rebuilds it."
            )
        if line:
            yield line


def replay(before: Before, entries: Iterable[AuditEntry]) -> tuple[list[str], list[str]] | None:
    """``(added, removed)`` since the snapshot: the last change of each id wins. None when an
    entry changed the members in a way the batches do not say."""
    last: dict[str, bool] = dict.fromkeys(before.added.to_pylist(), True)
    last.update(dict.fromkeys(before.removed.to_pylist(), False))
    for entry in entries:
        if entry.kind in _NEUTRAL:
            continue
        if entry.kind != "batch" or entry.data.get("op") not in ("add", "remove"):
            return None
        last.update(dict.fromkeys(entry.data.get("members", ()), entry.data["op"] == "add"))
    return [i for i, a in last.items() if a], [i for i, a in last.items() if not a]


def _fold(store: Store, before: Before) -> str | None:
    import pyarrow as pa

    from cohortops.diff.mirror import fold_mirror, read_mirror, snapshot_fingerprint, snapshot_key
    from cohortops.diff.warehouse_conn import connect

    cohort_id = before.cohort_id
    if not store.has_cohort(cohort_id):
        return None  # destroyed: nothing to mirror
    recorded = store.recorded_members(cohort_id)
    if snapshot_key(recorded.snapshot) == before.snapshot:
        return None  # not compacted: plans apply the recorded changes themselves
    if len(recorded.delta_added) or len(recorded.delta_removed):
        return None  # compacted, then changed again: not what the batches say
    changes = replay(before, store.audit_entries(cohort_id, since=before.audit_seq + 1))
    if changes is None:
        return None
    expected = snapshot_fingerprint(recorded.snapshot)  # before the warehouse transaction
    wh = connect(before.source, cohort_id)
    try:
        info = read_mirror(wh, before.source.mirror_schema, cohort_id)
        if info is None or info.snapshot != before.snapshot:
            return None  # no current mirror to fold into: the next plan pushes one
        added, removed = (pa.array(ids, pa.string()) for ids in changes)
        new = fold_mirror(wh, info, added, removed, recorded.snapshot, expected)
    finally:
        wh.close()
    return (
        f"Mirror of {cohort_id}: {len(added):,} added, {len(removed):,} removed in "
        f"{new.schema}.{new.table} ({new.row_count:,} members, snapshot {new.snapshot})."
    )
