"""Which audit entries name a member: an index kept off the apply's write path.

A per-member B-tree row written with every batch cost ~90% of an apply's state writes, so the
index is built in bulk, under the lock, once at the end of an apply, and only once the audit log
has grown by :data:`MIN_TAIL` entries since the last index point. It is a chain of *segments*,
each covering the audit seqs ``lo < seq <= hi`` (``hi_hash`` is entry ``hi``'s hash), stored as
blocks of sorted ``(member, seq)`` pairs (Arrow IPC, zstd) that never split one member's pairs,
so one block holds all of a member's seqs within a segment.

A lookup reads one block per segment of the unbroken chain ``0 → hi₁ → hi₂ …`` and hands back
the seqs plus where the chain ends; the caller scans only the entries after that point and
checks every candidate entry's JSON, so the answer is always the full scan's answer. A segment
that is missing, does not chain, names an entry whose hash changed or has a block whose digest
is wrong ends the chain: everything after it is scanned, and the next refresh that writes (it
checks every block's digest first) rebuilds it.
Segments are merged while the one before is no more than twice as large, which keeps their
number logarithmic in the log's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cohortops.state.codec import decode_table, encode_table
from cohortops.state.members import DuckRunner
from cohortops.state.sqlcore import Db, Tx

if TYPE_CHECKING:
    import pyarrow as pa

MIN_TAIL = 2_000  # entries a lookup may have to scan before an apply indexes them
BLOCK_ROWS = 65_536
_PAGE = 5_000
_HAS_MEMBERS = '%"members":[%'  # a cheap pre-filter; json_type decides


@dataclass(frozen=True)
class Segment:
    lo: int
    hi: int
    hi_hash: str
    blocks: int
    rows: int


@dataclass(frozen=True)
class Lookup:
    """Seqs of entries that may name the member (a superset, never missing one), and the seq
    after which the log is not indexed and must be scanned."""

    seqs: tuple[int, ...]
    covered: int


def _chain(tx: Tx) -> tuple[list[Segment], list[Segment]]:
    """The segments chaining from seq 0 whose last entry is still the one indexed, and the rest."""
    rows = tx.all(
        "SELECT s.lo, s.hi, s.hi_hash, s.blocks, s.n, a.hash, "
        "(SELECT count(*) FROM cohortops_index_blocks b WHERE b.lo = s.lo) "
        "FROM cohortops_index_segments s LEFT JOIN cohortops_audit a ON a.seq = s.hi ORDER BY s.lo"
    )
    chained: list[Segment] = []
    others: list[Segment] = []
    covered = 0
    for lo, hi, hi_hash, blocks, n, audit_hash, stored_blocks in rows:
        seg = Segment(int(lo), int(hi), str(hi_hash), int(blocks), int(n))
        intact = (
            not others
            and seg.lo == covered
            and seg.hi > seg.lo
            and audit_hash == seg.hi_hash
            and int(stored_blocks) == seg.blocks
        )
        if intact:
            chained.append(seg)
            covered = seg.hi
        else:
            others.append(seg)
    return chained, others


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lookup(tx: Tx, member_id: str) -> Lookup:
    """Inside a read transaction: candidate seqs from the intact chain, and its end."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chained, _others = _chain(tx)
    seqs: list[int] = []
    covered = 0
    for seg in chained:
        row = tx.one(
            "SELECT data, digest FROM cohortops_index_blocks WHERE lo = ? AND first_id <= ? "
            "ORDER BY first_id DESC LIMIT 1",
            (seg.lo, member_id.encode()),
        )
        if row is not None:
            data = bytes(row[0])
            if _digest(data) != row[1]:
                break  # damaged: scan from here on; the next refresh rebuilds it
            block = decode_table(data)
            hit = pc.equal(block.column("member"), pa.scalar(member_id, pa.string()))
            seqs.extend(block.column("seq").filter(hit).to_pylist())
        covered = seg.hi
    return Lookup(tuple(seqs), covered)


def _pairs(duck: DuckRunner, rows: list[tuple[Any, Any]]) -> pa.Table:
    """``(member, seq)`` for every string in each entry's ``data.members`` list."""
    import pyarrow as pa

    texts = pa.table(
        {
            "seq": pa.array([int(seq) for seq, _ in rows], pa.int64()),
            "data": pa.array([str(data) for _, data in rows], pa.string()),
        }
    )
    table: pa.Table = duck.query(
        "SELECT unnest(json_extract_string(data, '$.members[*]')) AS member, seq FROM {t} "
        "WHERE json_type(data, '$.members') = 'ARRAY'",
        {"t": texts},
        "arrow",
    )
    return table


def _read_pairs(db: Db, duck: DuckRunner, after: int, upto: int) -> list[pa.Table]:
    tables = []
    last = after
    while last < upto:
        with db.read("indexing the audit log") as tx:
            rows = tx.all(
                "SELECT seq, data FROM cohortops_audit WHERE seq > ? AND seq <= ? "
                f"AND data LIKE ? ORDER BY seq LIMIT {_PAGE}",
                (last, upto, _HAS_MEMBERS),
            )
        if not rows:
            break
        tables.append(_pairs(duck, rows))
        last = int(rows[-1][0])
    return tables


def _blocks(table: pa.Table) -> Iterable[pa.Table]:
    """Slices of about BLOCK_ROWS rows, cut only where the member changes."""
    members = table.column("member")
    start, total = 0, table.num_rows
    while start < total:
        stop = min(start + BLOCK_ROWS, total)
        while stop < total and members[stop].as_py() == members[stop - 1].as_py():
            stop += 1
        yield table.slice(start, stop - start)
        start = stop


def refresh(
    db: Db, duck: DuckRunner, write: Callable[[], AbstractContextManager[Tx]]
) -> Segment | None:
    """Under the lock: index the entries after the chain once there are ``MIN_TAIL`` of them,
    merging with the newest segments while they are no more than twice as large. Returns the
    segment written, if any."""
    import pyarrow as pa

    with db.read("reading the member index") as tx:
        chained, stale = _chain(tx)
        meta = tx.one("SELECT audit_head_seq, audit_head_hash FROM cohortops_meta WHERE id = 1")
    assert meta is not None
    head, head_hash = int(meta[0]), str(meta[1])
    covered = chained[-1].hi if chained else 0
    if head - covered < max(MIN_TAIL, 1):
        return None
    while True:
        found = _gather(db, duck, chained, covered, head)
        if isinstance(found, tuple):
            break
        stale += chained[found:]  # a damaged block: rebuild from the segment holding it
        covered = chained[found].lo
        chained = chained[:found]
    merged, parts = found
    lo = merged[0].lo if merged else covered
    schema = pa.schema([("member", pa.string()), ("seq", pa.int64())])
    everything = pa.concat_tables([part.cast(schema) for part in parts]) if parts else None
    ordered: pa.Table = (
        schema.empty_table()
        if everything is None
        else duck.query(
            "SELECT member, seq FROM {p} ORDER BY member, seq", {"p": everything}, "arrow"
        )
    )
    blocks = [
        (block.column("member")[0].as_py(), encode_table(block, "zstd"))
        for block in _blocks(ordered)
    ]
    segment = Segment(lo, head, head_hash, len(blocks), ordered.num_rows)
    with write() as tx:
        for seg in [*merged, *stale]:
            tx.execute("DELETE FROM cohortops_index_blocks WHERE lo = ?", (seg.lo,))
            tx.execute("DELETE FROM cohortops_index_segments WHERE lo = ?", (seg.lo,))
        tx.execute(
            "INSERT INTO cohortops_index_segments (lo, hi, hi_hash, blocks, n) VALUES (?, ?, ?, ?, ?)",
            (segment.lo, segment.hi, segment.hi_hash, segment.blocks, segment.rows),
        )
        tx.insert_rows(
            "cohortops_index_blocks",
            ("lo", "first_id", "digest", "data"),
            [(lo, first.encode(), _digest(data), data) for first, data in blocks],
        )
    return segment


def _gather(
    db: Db, duck: DuckRunner, chained: list[Segment], covered: int, head: int
) -> tuple[list[Segment], list[pa.Table]] | int:
    """The segments to merge and every pair the new segment holds, or the position of the first
    chained segment with a damaged block. Lookups read one block per segment, so before building
    on the chain every block's digest is checked; merged segments decode the bytes just hashed."""
    parts = _read_pairs(db, duck, covered, head)
    rows = sum(part.num_rows for part in parts)
    kept = len(chained)
    while kept and chained[kept - 1].rows <= 2 * (rows + sum(s.rows for s in chained[kept:])):
        kept -= 1
    for position, seg in enumerate(chained):
        with db.read("reading the member index") as tx:
            stored = tx.all(
                "SELECT data, digest FROM cohortops_index_blocks WHERE lo = ? ORDER BY first_id",
                (seg.lo,),
            )
        for data, digest in stored:
            if _digest(bytes(data)) != digest:
                return position
            if position >= kept:
                parts.append(decode_table(bytes(data)))
    return chained[kept:], parts
