"""Recorded members as DuckDB sees them: a sorted Parquet snapshot plus resolved deltas.

Deltas are stored as one Arrow blob per (commit, cohort, op) run, in commit order, so reading
them costs a few blob reads instead of a row per member. "Latest op per member wins" is resolved
here by DuckDB (``arg_max`` over the blob position); nothing in this module turns the snapshot
into Python objects except :func:`iter_members`, which streams for ``state show``.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cohortops.membership import IdArray
from cohortops.state.codec import decode_ids
from cohortops.state.logs import StoreOptions
from cohortops.state.sqlcore import Tx

if TYPE_CHECKING:
    import pyarrow as pa

ADD, REMOVE = 1, 0


@dataclass(frozen=True)
class DeltaRow:
    seq: int
    op: int
    blob: bytes


@dataclass(frozen=True)
class Deltas:
    """Resolved changes since the snapshot: disjoint, sorted pyarrow string arrays."""

    added: IdArray
    removed: IdArray
    max_seq: int  # the last delta row folded in; 0 when there were none


def read_delta_rows(tx: Tx, cohort_id: str) -> list[DeltaRow]:
    rows = tx.all(
        "SELECT seq, op, ids FROM cohortops_deltas WHERE cohort_id = ? ORDER BY seq", (cohort_id,)
    )
    return [DeltaRow(int(seq), int(op), bytes(blob)) for seq, op, blob in rows]


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DuckRunner:
    """One lazily opened in-memory DuckDB connection, used by one thread at a time."""

    def __init__(self, options: StoreOptions) -> None:
        self._options = options
        self._con: Any = None
        self._mutex = threading.Lock()

    def _connection(self) -> Any:
        if self._con is None:
            import duckdb

            con = duckdb.connect(":memory:")
            spill = Path(tempfile.gettempdir()) / "cohortops-duckdb"
            con.execute(f"SET memory_limit = '{self._options.duckdb_memory_limit}'")
            con.execute(f"SET threads = {int(self._options.duckdb_threads)}")
            con.execute(f"SET temp_directory = {_quote(spill)}")
            self._con = con
        return self._con

    def query(self, sql: str, tables: dict[str, Any], fetch: str = "all") -> Any:
        """Run ``sql`` with arrow ``tables`` registered under their names for its duration."""
        with self._mutex:
            con = self._connection()
            suffix = uuid.uuid4().hex[:8]
            names = {name: f"{name}_{suffix}" for name in tables}
            for name, table in tables.items():
                con.register(names[name], table)
            try:
                text = sql.format(**names)
                if fetch == "arrow":
                    return con.sql(text).to_arrow_table()
                return con.execute(text).fetchall()
            finally:
                try:
                    for real in names.values():
                        con.unregister(real)
                except Exception:  # a failed query can leave the connection busy: start afresh
                    con.close()
                    self._con = None

    def close(self) -> None:
        with self._mutex:
            if self._con is not None:
                self._con.close()
                self._con = None


def _empty() -> IdArray:
    import pyarrow as pa

    ids: IdArray = pa.array([], type=pa.string())
    return ids


def _column(table: pa.Table) -> pa.Array:
    column = table.column("id")
    return column.combine_chunks() if column.num_chunks else _empty()


def resolve(duck: DuckRunner, rows: Sequence[DeltaRow]) -> Deltas:
    """Latest op per member wins; returns sorted, disjoint added/removed arrays.

    One sort on ``(id, key)`` with ``key = blob position * 2 + op``, then the last row of each
    run of equal ids wins. Measured on 10M ids, this beats ``GROUP BY``/``DISTINCT`` + ``ORDER
    BY`` by 2-4x, and DuckDB sorts fastest when every selected column is a sort key.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not rows:
        return Deltas(_empty(), _empty(), 0)
    arrays = [decode_ids(row.blob) for row in rows]
    keys = [
        pa.repeat(pa.scalar(position * 2 + row.op, pa.int64()), len(array))
        for position, (row, array) in enumerate(zip(rows, arrays, strict=True))
    ]
    table = pa.table(
        {"id": pa.chunked_array(arrays, pa.string()), "k": pa.chunked_array(keys, pa.int64())}
    )
    ordered = duck.query("SELECT id, k FROM {d} ORDER BY id, k", {"d": table}, "arrow")
    ids = _column(ordered)
    key = ordered.column("k").combine_chunks() if len(ids) else pa.array([], pa.int64())
    n = len(ids)
    if n > 1:
        last = pc.not_equal(ids.slice(0, n - 1), ids.slice(1))
        keep = pa.concat_arrays([last, pa.array([True])])
        ids, key = ids.filter(keep), key.filter(keep)
    is_add = pc.equal(pc.bit_wise_and(key, pa.scalar(1, pa.int64())), pa.scalar(ADD, pa.int64()))
    return Deltas(ids.filter(is_add), ids.filter(pc.invert(is_add)), rows[-1].seq)


def _delta_table(deltas: Deltas) -> pa.Table:
    import pyarrow as pa

    ids = pa.chunked_array([deltas.added, deltas.removed], type=pa.string())
    op = pa.chunked_array(
        [
            pa.repeat(pa.scalar(ADD, pa.int8()), len(deltas.added)),
            pa.repeat(pa.scalar(REMOVE, pa.int8()), len(deltas.removed)),
        ],
        type=pa.int8(),
    )
    return pa.table({"id": ids, "op": op})


def count_members(duck: DuckRunner, snapshot: Path | None, snap_count: int, deltas: Deltas) -> int:
    """|snapshot ∪ added − removed| without loading the snapshot: join it with the deltas."""
    if snapshot is None:
        return len(deltas.added)
    if len(deltas.added) == 0 and len(deltas.removed) == 0:
        return snap_count
    # The deltas are the small side, so DuckDB builds its hash table on them and streams the file.
    rows = duck.query(
        "SELECT count(*) FILTER (WHERE d.op = 1), count(*) FILTER (WHERE d.op = 0) "
        f"FROM read_parquet({_quote(snapshot)}) s JOIN {{d}} d ON s.id = d.id",
        {"d": _delta_table(deltas)},
    )
    added_present, removed_present = (int(v) for v in rows[0])
    return snap_count + len(deltas.added) - added_present - removed_present


def _merged_sql(snapshot: Path) -> str:
    return (
        f"SELECT s.id FROM read_parquet({_quote(snapshot)}) s ANTI JOIN {{d}} d ON s.id = d.id "
        "UNION ALL SELECT id FROM {a}"
    )


def write_compacted(duck: DuckRunner, snapshot: Path | None, deltas: Deltas, target: Path) -> int:
    """Write ``snapshot ∪ added − removed`` to ``target`` (distinct, sorted, zstd); its count."""
    import pyarrow as pa

    added = pa.table({"id": deltas.added})
    if snapshot is None:
        # The resolved adds are sorted already and DuckDB keeps scan order in a plain COPY.
        query = "SELECT id FROM {a}"
        tables = {"a": added}
    else:
        query = f"SELECT id FROM ({_merged_sql(snapshot)}) ORDER BY id"
        tables = {"a": added, "d": _delta_table(deltas)}
    # zstd level 1: for 10M UUIDs, 2.5 s instead of 4.7 s at the default level, and no bigger.
    rows = duck.query(
        f"COPY ({query}) TO {_quote(target)} "
        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
        tables,
    )
    return int(rows[0][0])


def members_array(duck: DuckRunner, snapshot: Path | None, deltas: Deltas) -> IdArray:
    """Every member as one sorted Arrow string array (never Python objects)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    members: IdArray
    if snapshot is None:
        added = deltas.added
        members = pc.take(added, pc.sort_indices(added))
    elif len(deltas.added) == 0 and len(deltas.removed) == 0:
        members = pq.read_table(snapshot, columns=["id"]).column("id").combine_chunks()
    else:
        merged = duck.query(
            f"SELECT id FROM ({_merged_sql(snapshot)}) ORDER BY id",
            {"a": pa.table({"id": deltas.added}), "d": _delta_table(deltas)},
            "arrow",
        )
        members = merged.column("id").combine_chunks()
    return members


def iter_members(
    duck: DuckRunner, snapshot: Path | None, deltas: Deltas, batch: int = 10_000
) -> Iterator[str]:
    """Every member, sorted, a slice at a time."""
    import pyarrow.parquet as pq

    if snapshot is not None and len(deltas.added) == 0 and len(deltas.removed) == 0:
        with pq.ParquetFile(snapshot) as reader:  # stream: no need to hold the whole set
            for record_batch in reader.iter_batches(batch_size=batch, columns=["id"]):
                yield from record_batch.column(0).to_pylist()
        return
    members = members_array(duck, snapshot, deltas)
    for start in range(0, len(members), batch):
        yield from members.slice(start, batch).to_pylist()
