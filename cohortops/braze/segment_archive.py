"""Read the member ids out of a segment export archive into one Arrow array.

Accepted: a ZIP of JSON-lines files (Braze's default), a gzip-compressed tar of them, a single
gzip-compressed JSON-lines file, or a plain JSON-lines file. Lines are parsed by Arrow's JSON
reader (C++), so a million members never become a million Python objects. The decompressed
size is bounded (``max_bytes``): a ZIP declaring more is refused before reading, and every
stream is counted as it is read, so an archive that lies about its sizes is refused too. Files are parsed in blocks of whole
lines, so one huge JSON-lines file never sits in memory at once.
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from cohortops.errors import BrazeError
from cohortops.membership.distinct import sorted_distinct

DEFAULT_MAX_BYTES = 8 * 1024**3
_BLOCK = 8 * 1024 * 1024


class _TooLarge(Exception):
    pass


def _blocks(stream: IO[bytes], budget: list[int]) -> Iterator[bytes]:
    """``stream`` in blocks of whole lines (at most about ``_BLOCK`` bytes each), counting every
    byte against ``budget[0]``: more than that raises ``_TooLarge``."""
    carry = b""
    while True:
        data = stream.read(_BLOCK)
        budget[0] -= len(data)
        if budget[0] < 0:
            raise _TooLarge
        if not data:
            if carry.strip():
                yield carry
            return
        data = carry + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut]


def _schema(identifier: str) -> pa.Schema:
    if identifier == "user_alias":
        alias = pa.struct([("alias_name", pa.string()), ("alias_label", pa.string())])
        return pa.schema([("user_aliases", pa.list_(alias))])
    if identifier in ("external_id", "braze_id"):
        return pa.schema([(identifier, pa.string())])
    raise BrazeError(
        f"A segment export cannot list members by {identifier}.",
        hint="Segment exports name users by external_id, braze_id or user_alias.",
    )


def _streams(path: Path) -> Iterator[IO[bytes]]:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"PK":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    with zf.open(info) as member:
                        yield member
        return
    if magic[:2] != b"\x1f\x8b":
        with path.open("rb") as plain:
            yield plain
        return
    if _is_tar_gz(path):
        with tarfile.open(path, mode="r|gz") as tar:
            for entry in tar:
                data = tar.extractfile(entry) if entry.isfile() else None
                if data is not None:
                    yield data
        return
    with gzip.GzipFile(path, "rb") as single:
        yield cast(IO[bytes], single)


def _is_tar_gz(path: Path) -> bool:
    with gzip.open(path, "rb") as handle:
        head = handle.read(512)
    return len(head) == 512 and head[257:262] == b"ustar"


def _declared_size(path: Path) -> int:
    with path.open("rb") as handle:
        if handle.read(2) != b"PK":
            return 0
    with zipfile.ZipFile(path) as zf:
        return sum(info.file_size for info in zf.infolist())


def _ids(table: pa.Table, identifier: str, alias_label: str | None) -> pa.Array:
    if identifier != "user_alias":
        return table.column(identifier).combine_chunks()
    aliases = pc.list_flatten(table.column("user_aliases").combine_chunks())
    if len(aliases) == 0:
        return pa.array([], pa.string())
    keep = pc.equal(aliases.field("alias_label"), alias_label)
    return pc.filter(aliases.field("alias_name"), keep)


def read_member_ids(
    path: Path,
    identifier: str = "external_id",
    *,
    alias_label: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> pa.Array:
    """Every member id in the export: a sorted, de-duplicated pyarrow string array."""
    parts = list(iter_member_ids(path, identifier, alias_label=alias_label, max_bytes=max_bytes))
    return sorted_distinct(pa.concat_arrays(parts) if parts else pa.array([], pa.string()))


def iter_member_ids(
    path: Path,
    identifier: str = "external_id",
    *,
    alias_label: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[pa.Array]:
    """The export's ids block by block, in archive order; a user without the field is a null
    (aliases: only those with ``alias_label``). Bounded like :func:`read_member_ids`."""
    schema = _schema(identifier)
    too_large = BrazeError(
        f"The segment export {path.name} decompresses to more than {max_bytes:,} bytes; refused.",
        hint="Raise the bound (max_archive_bytes) if the segment really is that large.",
    )
    if _declared_size(path) > max_bytes:
        raise too_large
    budget = [max_bytes]
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    read = pajson.ReadOptions(block_size=_BLOCK + 1)
    try:
        for stream in _streams(path):
            for block in _blocks(stream, budget):
                table = pajson.read_json(
                    pa.BufferReader(block), read_options=read, parse_options=parse
                )
                yield _ids(table, identifier, alias_label).cast(pa.string())
    except _TooLarge:
        raise too_large from None
    except (OSError, zipfile.BadZipFile, tarfile.TarError, pa.ArrowInvalid) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BrazeError(
            f"Cannot read the segment export {path.name}: {first}.",
            hint="Pass the ZIP or GZIP archive Braze produced, unchanged.",
        ) from None
