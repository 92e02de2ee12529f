"""How values are written into state tables, identically in every backend.

Timestamps are fixed-width ISO 8601 UTC text (so they sort as text and hash the same everywhere),
JSON is canonical orjson (sorted keys, compact), member id batches are Arrow IPC streams.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from cohortops.membership import IdArray

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


def encode_ids(ids: Sequence[str]) -> bytes:
    """One Arrow IPC stream with a single string column ``id``."""
    import pyarrow as pa

    table = pa.table({"id": pa.array(ids, type=pa.string())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def decode_ids(blob: bytes) -> IdArray:
    """The ``id`` column of a blob written by :func:`encode_ids`, as a pyarrow array."""
    import pyarrow as pa

    with pa.ipc.open_stream(pa.py_buffer(blob)) as reader:
        table = reader.read_all()
    ids: IdArray = table.column("id").combine_chunks()
    return ids
