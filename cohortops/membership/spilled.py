"""Member id sets too large to keep decoded: zstd Parquet read back one row group at a time.

A first plan of a 10M-line source adds 10M ids: ~180 MB as one Arrow array, more in the copies
made on the way to the plan file. :class:`IdSink` collects sorted ids as the diff engine streams
them and, past :data:`KEEP_DECODED` ids, writes them to an anonymous temporary file (gone when
closed, even after a crash); :class:`SpilledIds` is the result, an ``IdArray`` whose length is
known and whose slices read only the row groups they cover. The plan file reads its member
files into the same type, so ``show`` and ``apply`` hold one row group at a time.
"""

from __future__ import annotations

import bisect
import itertools
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa

from cohortops.membership import IdArray

ROW_GROUP = 65_536  # ids per row group: ~1 MB decoded, the unit every read works in
KEEP_DECODED = 1_000_000  # ids an IdSink keeps as Arrow arrays before it spills
ID_SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False)])
# Ids are mostly unique: a dictionary page would be built and then abandoned for each column.
WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "use_dictionary": False}


def _one(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


class RowGroups:
    """One column of a Parquet file (a buffer or an open file), one row group at a time.

    Thread-safe; the last row group read is kept, so consecutive slices that share a row group
    decode it once.
    """

    def __init__(self, source: pa.Buffer | IO[bytes], column: str = "id") -> None:
        import pyarrow.parquet as pq  # only spilled sets and saved plans read Parquet

        self._source = source  # keeps an anonymous temporary file open, hence alive
        reader = pa.BufferReader(source) if isinstance(source, pa.Buffer) else source
        self._file = pq.ParquetFile(reader)
        meta = self._file.metadata
        sizes = (meta.row_group(g).num_rows for g in range(meta.num_row_groups))
        self.starts: list[int] = list(itertools.accumulate(sizes, initial=0))
        self._column = column
        self._lock = threading.Lock()
        self._last: tuple[int, pa.Array] | None = None

    @property
    def rows(self) -> int:
        return self.starts[-1]

    @property
    def metadata(self) -> Any:
        return self._file.metadata

    def column(self, name: str) -> pa.Array:
        """Another column of the file, whole (for narrow ones: the plan file's flags)."""
        with self._lock:
            return _one(self._file.read(columns=[name]).column(0))

    def group(self, index: int) -> pa.Array:
        with self._lock:
            if self._last is not None and self._last[0] == index:
                return self._last[1]
            table = self._file.read_row_group(index, columns=[self._column])
            array = _one(table.column(0))
            self._last = (index, array)
            return array

    def read(self, start: int, stop: int) -> Iterator[pa.Array]:
        """Rows ``[start, stop)``, as slices of the row groups they cover."""
        index = bisect.bisect_right(self.starts, start) - 1
        while start < stop and index < len(self.starts) - 1:
            base = self.starts[index]
            if base >= stop:
                return
            array = self.group(index)
            lo, hi = max(start - base, 0), min(stop - base, len(array))
            if hi > lo:
                yield array.slice(lo, hi - lo)
            index += 1


class SpilledIds:
    """Sorted member ids kept in Parquet (an ``IdArray``): ``len`` is free, a slice decodes only
    the row groups it covers, :meth:`chunks` streams them all."""

    def __init__(self, groups: RowGroups, start: int = 0, length: int | None = None) -> None:
        self._groups = groups
        self._start = start
        self._length = groups.rows - start if length is None else length

    @property
    def null_count(self) -> int:
        return 0  # written from non-null ids; a plan file's are checked as its digest is

    @property
    def type(self) -> object:
        return pa.string()

    def __len__(self) -> int:
        return self._length

    def slice(self, offset: int = 0, length: int | None = None) -> IdArray:
        lo = min(max(offset, 0), self._length)
        hi = self._length if length is None else min(lo + max(length, 0), self._length)
        parts = list(self._groups.read(self._start + lo, self._start + hi))
        if not parts:
            return empty_ids()
        whole: IdArray = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
        return whole

    def to_pylist(self) -> list[str]:
        return self.slice().to_pylist()

    def chunks(self) -> Iterator[pa.Array]:
        return self._groups.read(self._start, self._start + self._length)

    def __eq__(self, other: object) -> bool:
        """The same ids in the same order (as a pyarrow array equals one): a full scan."""
        if not isinstance(other, SpilledIds | pa.Array | pa.ChunkedArray):
            return NotImplemented
        if len(other) != self._length:
            return False
        at = 0
        for chunk in self.chunks():
            theirs: Any = other.slice(at, len(chunk))
            if isinstance(theirs, pa.ChunkedArray):
                theirs = theirs.combine_chunks()
            if not chunk.equals(theirs.cast(pa.string())):
                return False
            at += len(chunk)
        return True

    __hash__ = None  # type: ignore[assignment]  # compared by value, so not hashable


def empty_ids() -> IdArray:
    """No ids: the empty side of a diff or plan."""
    ids: IdArray = pa.array([], pa.string())
    return ids


def pieces(ids: IdArray | pa.ChunkedArray, size: int = ROW_GROUP) -> Iterator[pa.Array]:
    """Every id, in order, as consecutive pyarrow arrays of at most ``size`` ids (a spilled
    set's row groups; zero-copy slices of an array)."""
    if isinstance(ids, SpilledIds):
        yield from ids.chunks()
        return
    arrays = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    for array in arrays:
        for start in range(0, len(array), size):
            yield array.slice(start, size)


class IdSink:
    """Collects ids batch by batch, in order; :meth:`finish` returns them as one Arrow array
    or, past ``keep`` ids, as :class:`SpilledIds` in an anonymous temporary file."""

    def __init__(self, keep: int | None = None, directory: str | None = None) -> None:
        self._keep = KEEP_DECODED if keep is None else keep
        self._directory = directory
        self._held: list[pa.Array] = []
        self._held_count = 0  # ids in _held, not yet written
        self._count = 0
        self._file: IO[bytes] | None = None
        self._writer: Any = None  # a pyarrow.parquet.ParquetWriter once spilling

    def __len__(self) -> int:
        return self._count

    def __enter__(self) -> IdSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:  # a finished sink handed its file to its result
            self.close()

    def add(self, ids: pa.Array) -> None:
        if not len(ids):
            return
        if ids.type != pa.string():
            ids = ids.cast(pa.string())
        self._held.append(ids)
        self._held_count += len(ids)
        self._count += len(ids)
        if self._writer is not None or self._count > self._keep:
            self._write(final=False)

    def _write(self, *, final: bool) -> None:
        if self._writer is None:
            import pyarrow.parquet as pq

            self._file = tempfile.TemporaryFile(  # noqa: SIM115 -- its SpilledIds owns it
                prefix="cohortops-ids-", dir=self._directory
            )
            self._writer = pq.ParquetWriter(self._file, ID_SCHEMA, **WRITE_OPTIONS)
        if self._held_count < ROW_GROUP and not final:
            return
        ids = pa.concat_arrays(self._held) if len(self._held) > 1 else self._held[0]
        whole = len(ids) if final else len(ids) - len(ids) % ROW_GROUP
        for start in range(0, whole, ROW_GROUP):
            part = ids.slice(start, min(ROW_GROUP, whole - start))
            self._writer.write_table(pa.table([part], schema=ID_SCHEMA), row_group_size=ROW_GROUP)
        self._held = [ids.slice(whole)] if whole < len(ids) else []
        self._held_count = len(ids) - whole

    def finish(self) -> IdArray:
        if self._writer is None:
            if not self._held:
                return empty_ids()
            ids: IdArray = self._held[0] if len(self._held) == 1 else pa.concat_arrays(self._held)
            return ids
        if self._held:
            self._write(final=True)
        self._writer.close()
        assert self._file is not None
        self._file.seek(0)
        return SpilledIds(RowGroups(self._file))

    def close(self) -> None:
        """Drop what was collected (on failure); ``finish`` hands the file to its result."""
        if self._file is not None:
            self._file.close()
        self._held, self._held_count, self._file, self._writer = [], 0, None, None
