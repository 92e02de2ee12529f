"""How values are written into state tables, identically in every backend.

Timestamps are fixed-width ISO 8601 UTC text (so they sort as text and hash the same everywhere),
JSON is canonical orjson (sorted keys, compact), member id batches are Arrow IPC streams.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from cohortops.membership import IdArray

if TYPE_CHECKING:
    import pyarrow as pa

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def ts(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp {value!r} has no timezone; pass an aware datetime")
    return value.astimezone(dt.UTC).strftime(_TS_FORMAT)


def parse_ts(text: str) -> dt.datetime:
    if len(text) == 27 and text[-1] == "Z":  # what ts() writes; fromisoformat is ~50x strptime
        return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC)
    return dt.datetime.strptime(text, _TS_FORMAT).replace(tzinfo=dt.UTC)


def parse_ts_opt(text: str | None) -> dt.datetime | None:
    return None if text is None else parse_ts(text)


def dumps(value: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, UTF-8 characters kept as they are."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def loads_mapping(text: str | bytes) -> Mapping[str, Any]:
    value = orjson.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def encode_table(table: pa.Table, compression: str | None = None) -> bytes:
    """One Arrow IPC stream holding ``table`` (``compression``: ``"zstd"``, ``"lz4"`` or none)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def decode_table(blob: bytes) -> pa.Table:
    """The table of a blob written by :func:`encode_table`."""
    import pyarrow as pa

    with pa.ipc.open_stream(pa.py_buffer(blob)) as reader:
        return reader.read_all()


def encode_ids(ids: Sequence[str]) -> bytes:
    """One Arrow IPC stream with a single string column ``id``."""
    import pyarrow as pa

    return encode_table(pa.table({"id": pa.array(ids, type=pa.string())}))


def decode_ids(blob: bytes) -> IdArray:
    """The ``id`` column of a blob written by :func:`encode_ids`, as a pyarrow array."""
    ids: IdArray = decode_table(blob).column("id").combine_chunks()
    return ids
