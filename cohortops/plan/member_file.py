"""A saved plan's member file: one cohort's ids as zstd Parquet (``id``, ``remove``), streamed.

Written one row group at a time from the plan's id sets, read back as
:class:`~cohortops.membership.spilled.SpilledIds` over the archive member: a 10M-id plan is never
one decoded array, whether it is being saved, shown or applied. A member file over
:data:`SPILL_BYTES` is copied to an anonymous temporary file (the ids are verified against the
digest from that private copy, and ``apply`` sends from it, so editing the plan file after it was
read changes nothing); smaller ones stay in memory.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cohortops.errors import PlanError
from cohortops.membership import IdArray
from cohortops.membership.spilled import (
    ROW_GROUP,
    WRITE_OPTIONS,
    RowGroups,
    SpilledIds,
    empty_ids,
    pieces,
)

MEMBER_SCHEMA = pa.schema(
    [pa.field("id", pa.string(), nullable=False), pa.field("remove", pa.bool_(), nullable=False)]
)
MAX_MEMBERS_BYTES = 8 << 30  # one cohort's parquet, and its decoded columns
MAX_PARQUET_RATIO = 64  # decoded bytes per stored byte of a large row group
MAX_GROUP_BYTES = 32 << 20  # row groups decoding to more must not compress beyond the ratio
MAX_FILE_RATIO = 1024  # decoded bytes per stored byte of the whole member file
SPILL_BYTES = 16 << 20  # member files larger than this are read from a private temporary copy


def id_pieces(ids: IdArray | pa.ChunkedArray | list[str]) -> Iterator[pa.Array]:
    """Every id in order, at most a row group at a time; a null id is refused."""
    if isinstance(ids, list):
        ids = pa.array(ids, type=pa.large_string())
    for piece in pieces(ids):
        if piece.null_count:
            raise PlanError("A plan cannot hold a null member id.")
        yield piece


class _Counted:
    """A write-only stream that knows its position (zipfile's member streams cannot tell)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._written = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self._raw.write(data)
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        self.closed = True


def write_members(zf: zipfile.ZipFile, name: str, to_add: IdArray, to_remove: IdArray) -> None:
    """Store one cohort's member file (uncompressed in the archive: it is zstd already)."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_STORED
    with zf.open(info, "w", force_zip64=True) as member:
        sink = _Counted(member)
        with pq.ParquetWriter(sink, MEMBER_SCHEMA, **WRITE_OPTIONS) as writer:
            for remove, ids in ((False, to_add), (True, to_remove)):
                for piece in id_pieces(ids):
                    flags = pa.repeat(remove, len(piece)).cast(pa.bool_())
                    table = pa.table([piece.cast(pa.string()), flags], schema=MEMBER_SCHEMA)
                    writer.write_table(table, row_group_size=ROW_GROUP)


def read_members(
    zf: zipfile.ZipFile, name: str, adds: int, source: Path
) -> tuple[IdArray, IdArray]:
    """One cohort's (to_add, to_remove), bounded against decompression and Parquet bombs.

    ``adds`` is what plan.json says; the writer puts the adds first, so each side is a range of
    the file's rows (a file laid out otherwise is read into two filtered arrays)."""
    info = zf.getinfo(name)
    if info.file_size > MAX_MEMBERS_BYTES:
        raise PlanError(
            f"Plan file {source} is refused: {name} decompresses to {info.file_size:,} bytes, "
            f"over the {MAX_MEMBERS_BYTES:,}-byte bound."
        )
    groups = RowGroups(_hold(zf, info))
    _check_decoded(groups.metadata, info.file_size, name, source)
    remove = groups.column("remove")
    if remove.null_count:
        raise ValueError("null remove flag")
    removes = pc.sum(remove).as_py() or 0
    everyone = len(remove)
    if (
        adds + removes == everyone
        and not pc.any(remove.slice(0, adds)).as_py()
        and (removes == 0 or pc.all(remove.slice(adds)).as_py())
    ):
        return _range(groups, 0, adds), _range(groups, adds, removes)
    ids: Any = SpilledIds(groups).slice()
    return ids.filter(pc.invert(remove)), ids.filter(remove)


def _hold(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> pa.Buffer | IO[bytes]:
    """The member's bytes: in memory when small, else a private anonymous temporary file."""
    if info.file_size <= SPILL_BYTES:
        return pa.py_buffer(zf.read(info))
    copy = tempfile.TemporaryFile(prefix="cohortops-plan-")  # noqa: SIM115 -- SpilledIds owns it
    try:
        with zf.open(info) as member:
            shutil.copyfileobj(member, copy, 1 << 20)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy


def _check_decoded(metadata: Any, stored: int, name: str, source: Path) -> None:
    """Refuse a Parquet bomb from its metadata, before decoding anything.

    Reads decode one row group at a time, so what must stay bounded is each row group's
    decoded size (a large one that compresses suspiciously well is refused) and the total.
    Sorted ids compress far better than random ones (``user_000123456`` ids ~56x), so the
    ratio alone only refuses large row groups, and the whole file only past ``MAX_FILE_RATIO``.
    """
    total = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        # RLE/dictionary pages expand per row too, hence 16 bytes a row on top.
        decoded = 16 * group.num_rows
        packed = 0
        for c in range(metadata.num_columns):
            decoded += group.column(c).total_uncompressed_size
            packed += group.column(c).total_compressed_size
        total += decoded
        if decoded > MAX_GROUP_BYTES and decoded > MAX_PARQUET_RATIO * max(packed, 1 << 16):
            _refuse(source, name, decoded, stored)
    if total > MAX_MEMBERS_BYTES or total > MAX_FILE_RATIO * max(stored, 1 << 16):
        _refuse(source, name, total, stored)


def _refuse(source: Path, name: str, decoded: int, stored: int) -> None:
    raise PlanError(
        f"Plan file {source} is refused: {name} decodes to {decoded:,} bytes from "
        f"{stored:,} (a compression bomb, or over the {MAX_MEMBERS_BYTES:,}-byte bound)."
    )


def _range(groups: RowGroups, start: int, length: int) -> IdArray:
    return SpilledIds(groups, start, length) if length else empty_ids()
