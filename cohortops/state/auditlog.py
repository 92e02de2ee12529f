"""The audit log stored with the state: append-only, each entry hashing the one before.

``hash = sha256(prev_hash + canonical JSON of {seq, at, kind, actor, cohort_id, data})``, with
canonical JSON as :func:`cohortops.state.codec.dumps` writes it. The meta row keeps the head
(last seq and hash), so deleting the newest entries is detected too. Which entries name a member
in ``data["members"]`` comes from :mod:`cohortops.state.member_index` plus a scan of the entries
it does not cover yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cohortops.state import member_index
from cohortops.state.codec import dumps, loads_mapping, parse_ts, ts
from cohortops.state.logs import GENESIS_HASH, AuditEntry, AuditProblem, MemberEvent
from cohortops.state.sqlcore import Db, Row, Tx

_PAGE = 1000
_COLUMNS = "seq, at, kind, actor, cohort_id, data, prev_hash, hash"


@dataclass(frozen=True)
class NewEntry:
    kind: str
    actor: str
    cohort_id: str | None
    data: Mapping[str, Any]


def chain_hash(
    prev_hash: str, seq: int, at: str, kind: str, actor: str, cohort_id: str | None, data: str
) -> str:
    """The hash of one entry; ``data`` is its canonical JSON text."""
    canonical = orjson.dumps(
        {
            "seq": seq,
            "at": at,
            "kind": kind,
            "actor": actor,
            "cohort_id": cohort_id,
            "data": orjson.Fragment(data),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    """Recompute an entry's hash from its fields (for exported logs)."""
    return chain_hash(
        entry.prev_hash,
        entry.seq,
        ts(entry.at),
        entry.kind,
        entry.actor,
        entry.cohort_id,
        dumps(dict(entry.data)),
    )


def append(tx: Tx, entries: Sequence[NewEntry], at: dt.datetime) -> list[AuditEntry]:
    """Append ``entries`` inside ``tx`` (a write transaction) and move the head."""
    if not entries:
        return []
    head = tx.one("SELECT audit_head_seq, audit_head_hash FROM cohortops_meta WHERE id = 1")
    assert head is not None
    seq, prev = int(head[0]), str(head[1])
    at_text = ts(at)
    at_value = parse_ts(at_text)  # what a reader gets back: microseconds, UTC
    rows: list[Row] = []
    appended: list[AuditEntry] = []
    for entry in entries:
        seq += 1
        data_text = dumps(dict(entry.data))
        digest = chain_hash(prev, seq, at_text, entry.kind, entry.actor, entry.cohort_id, data_text)
        rows.append(
            (seq, at_text, entry.kind, entry.actor, entry.cohort_id, data_text, prev, digest)
        )
        appended.append(
            AuditEntry(seq, at_value, entry.kind, entry.actor, entry.cohort_id,
                       entry.data, prev, digest)
        )  # fmt: skip
        prev = digest
    tx.insert_rows(
        "cohortops_audit",
        ("seq", "at", "kind", "actor", "cohort_id", "data", "prev_hash", "hash"),
        rows,
    )
    tx.execute(
        "UPDATE cohortops_meta SET audit_head_seq = ?, audit_head_hash = ? WHERE id = 1",
        (seq, prev),
    )
    return appended


def _entry(row: Row) -> AuditEntry:
    seq, at, kind, actor, cohort_id, data, prev_hash, digest = row
    return AuditEntry(
        int(seq), parse_ts(at), kind, actor, cohort_id, loads_mapping(data), prev_hash, digest
    )


def entries(db: Db, cohort_id: str | None, since: dt.datetime | int | None) -> Iterator[AuditEntry]:
    """Page through the log by seq, one short read transaction per page."""
    where, params = ["seq > ?"], []
    if cohort_id is not None:
        where.append("cohort_id = ?")
        params.append(cohort_id)
    last = 0
    if isinstance(since, dt.datetime):
        where.append("at >= ?")
        params.append(ts(since))
    elif since is not None:
        last = since - 1
    sql = f"SELECT {_COLUMNS} FROM cohortops_audit WHERE {' AND '.join(where)} ORDER BY seq"
    while True:
        with db.read("reading the audit log") as tx:
            rows = tx.all(f"{sql} LIMIT {_PAGE}", (last, *params))
        for row in rows:
            yield _entry(row)
        if len(rows) < _PAGE:
            return
        last = int(rows[-1][0])


def recent(
    db: Db, cohort_id: str | None, limit: int, kinds: Sequence[str], *, unscoped: bool = False
) -> list[AuditEntry]:
    """The newest ``limit`` entries, newest first.

    One query per kind, each an equality on the ``(cohort_id, kind, seq)`` index: with ``kind IN
    (...)`` planners walk the ``(cohort_id, seq)`` index instead and read every entry of a
    cohort whose members fill the log.
    """
    where, params = ["1 = 1"], list[Any]()
    if unscoped:
        where.append("cohort_id IS NULL")
    elif cohort_id is not None:
        where.append("cohort_id = ?")
        params.append(cohort_id)
    limit = max(int(limit), 0)
    rows: list[Row] = []
    with db.read("reading the audit log") as tx:
        for kind in kinds or (None,):
            clause = " AND ".join(where if kind is None else [*where, "kind = ?"])
            args = tuple(params if kind is None else [*params, kind])
            rows += tx.all(
                f"SELECT {_COLUMNS} FROM cohortops_audit WHERE {clause} "
                f"ORDER BY seq DESC LIMIT {limit}",
                args,
            )
    rows.sort(key=lambda row: -int(row[0]))
    return [_entry(row) for row in rows[:limit]]


def head(db: Db) -> tuple[int, str]:
    """The newest entry's seq and hash, as the meta row records them."""
    with db.read("reading the audit head") as tx:
        row = tx.one("SELECT audit_head_seq, audit_head_hash FROM cohortops_meta WHERE id = 1")
    assert row is not None
    return int(row[0]), str(row[1])


def verify(db: Db) -> AuditProblem | None:
    with db.read("verifying the audit log") as tx:
        head = tx.one("SELECT audit_head_seq, audit_head_hash FROM cohortops_meta WHERE id = 1")
        assert head is not None
        head_seq, head_hash = int(head[0]), str(head[1])
        # Read with the head, so entries appended while we verify are not mistaken for forgeries.
        extra = tx.scalar("SELECT min(seq) FROM cohortops_audit WHERE seq > ?", (head_seq,))
    expected, prev = 1, GENESIS_HASH
    while expected <= head_seq:
        with db.read("verifying the audit log") as tx:
            rows = tx.all(
                f"SELECT {_COLUMNS} FROM cohortops_audit WHERE seq >= ? AND seq <= ? "
                f"ORDER BY seq LIMIT {_PAGE}",
                (expected, head_seq),
            )
        if not rows:
            break
        for seq, at, kind, actor, cohort_id, data, prev_hash, digest in rows:
            if int(seq) != expected:
                return AuditProblem(expected, "is missing: it was deleted from the log")
            if prev_hash != prev:
                return AuditProblem(
                    expected, "does not follow the entry before it: entries were reordered or replaced"
                )  # fmt: skip
            if chain_hash(prev_hash, int(seq), at, kind, actor, cohort_id, data) != digest:
                return AuditProblem(expected, "does not match its hash: it was edited")
            prev = digest
            expected += 1
    if expected <= head_seq:
        return AuditProblem(expected, f"is missing: the log ends before entry {head_seq}")
    if prev != head_hash:
        return AuditProblem(head_seq, "is not the entry the state recorded as the newest one")
    if extra is not None:
        return AuditProblem(int(extra), f"was added behind the state's back (after {head_seq})")
    return None


def _like_pattern(member_id: str) -> str:
    quoted = dumps(member_id)  # how the id stands inside an entry's JSON data
    escaped = quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_TIMELINE_COLUMNS = "seq, at, kind, actor, cohort_id, data"


def timeline(db: Db, member_id: str, *, indexed: bool = True) -> list[MemberEvent]:
    """Entries naming the member: candidates from the member index, a ``LIKE`` scan of the
    entries after it (all of them with ``indexed=False``), and the JSON of each decides."""
    with db.read("reading the audit log") as tx:
        found = member_index.lookup(tx, member_id) if indexed else member_index.Lookup((), 0)
        rows: list[Row] = []
        seqs = sorted(set(found.seqs))
        for start in range(0, len(seqs), 500):
            part = seqs[start : start + 500]
            rows += tx.all(
                f"SELECT {_TIMELINE_COLUMNS} FROM cohortops_audit "
                f"WHERE seq IN ({', '.join('?' for _ in part)}) ORDER BY seq",
                part,
            )
        # Indexed seqs are all <= covered and come in ascending chunks: rows stay in seq order.
        rows += tx.all(
            f"SELECT {_TIMELINE_COLUMNS} FROM cohortops_audit "
            "WHERE seq > ? AND data LIKE ? ESCAPE '\\' ORDER BY seq",
            (found.covered, _like_pattern(member_id)),
        )
    events = []
    for seq, at, kind, actor, cohort_id, data in rows:
        details = dict(loads_mapping(data))
        members = details.pop("members", ())
        if member_id not in members:
            continue  # LIKE matched a longer id or another field; the JSON decides
        op = details.get("op")
        events.append(
            MemberEvent(
                seq=int(seq),
                at=parse_ts(at),
                cohort_id=cohort_id,
                op=op if op in ("add", "remove") else None,
                kind=kind,
                actor=actor,
                details=details,
            )
        )
    return events
