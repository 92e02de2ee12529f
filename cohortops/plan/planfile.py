"""The saved plan: one portable file holding the exact member-level changes.

A ZIP archive: ``manifest.json`` (kind, format version, digest), ``plan.json`` (the plan without
member ids) and, per cohort with member changes, ``members/NNNNN.parquet`` (zstd; columns ``id``
and ``remove``). The digest covers the plan and every id, so a reviewed plan is the applied one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import struct
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cohortops.errors import PlanError
from cohortops.membership import IdArray
from cohortops.plan.codec import plan_from_dict, plan_to_dict
from cohortops.plan.model import FORMAT_VERSION, Plan, empty_ids

KIND = "cohortops-plan"
MANIFEST = "manifest.json"
PLAN_JSON = "plan.json"


def plan_digest(plan: Plan) -> str:
    """sha256 over the canonical plan data and every member id, in order."""
    h = hashlib.sha256()
    h.update(orjson.dumps(plan_to_dict(plan), option=orjson.OPT_SORT_KEYS))
    for cp in plan.cohorts:
        _hash_ids(h.update, cp.to_add)
        _hash_ids(h.update, cp.to_remove)
    return h.hexdigest()


def _hash_ids(update: Callable[[bytes | memoryview], None], ids: IdArray) -> None:
    """Length-prefixed ids, independent of string vs large_string, chunking or slicing."""
    array = _large(ids)
    n = len(array)
    update(struct.pack("<q", n))
    if n == 0:
        return
    lengths = pc.binary_length(array)
    update(memoryview(lengths.buffers()[1])[lengths.offset * 8 : (lengths.offset + n) * 8])
    offsets = array.buffers()[1]
    start = struct.unpack_from("<q", offsets, array.offset * 8)[0]
    end = struct.unpack_from("<q", offsets, (array.offset + n) * 8)[0]
    update(memoryview(array.buffers()[2])[start:end])


def _large(ids: IdArray | pa.ChunkedArray | Sequence[str]) -> pa.Array:
    array: pa.Array = ids
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], pa.large_string())
    elif not isinstance(array, pa.Array):
        array = pa.array(list(array), type=pa.large_string())
    if array.null_count:
        raise PlanError("A plan cannot hold a null member id.")
    return array.cast(pa.large_string())


def write_plan(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write ``plan`` atomically: readers see the old file or the complete new one."""
    target = Path(path)
    data = plan_to_dict(plan)
    manifest = {"kind": KIND, "format_version": FORMAT_VERSION, "digest": plan_digest(plan)}
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
                for index, (cp, entry) in enumerate(
                    zip(plan.cohorts, data["cohorts"], strict=True)
                ):
                    entry["members_file"] = None
                    if cp.adds or cp.removes:
                        name = f"members/{index:05d}.parquet"
                        entry["members_file"] = name
                        zf.writestr(name, _parquet(cp.to_add, cp.to_remove), zipfile.ZIP_STORED)
                zf.writestr(PLAN_JSON, orjson.dumps(data, option=orjson.OPT_INDENT_2))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _parquet(to_add: IdArray, to_remove: IdArray) -> bytes:
    adds, removes = _large(to_add), _large(to_remove)
    table = pa.table(
        {
            "id": pa.concat_arrays([adds, removes]),
            "remove": pa.concat_arrays(
                [pa.repeat(False, len(adds)), pa.repeat(True, len(removes))]
            ).cast(pa.bool_()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan file; a missing, foreign, corrupt or newer file raises a one-line PlanError."""
    source = Path(path)
    if not source.is_file():
        raise PlanError(
            f"Plan file {source} does not exist.", hint="Save one with `cohortops plan --out FILE`."
        )
    try:
        with zipfile.ZipFile(source) as zf:
            manifest = _manifest(zf, source)
            data = orjson.loads(zf.read(PLAN_JSON))
            plan = plan_from_dict(data, lambda _i, c: _members(zf, c))
    except PlanError:
        raise
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, OSError, pa.ArrowException) as e:
        detail = " ".join(str(e).split()) or type(e).__name__
        raise PlanError(
            f"Plan file {source} is corrupt ({detail[:200]}).",
            hint="Run `cohortops plan` again to make a new one.",
        ) from None
    if plan_digest(plan) != manifest["digest"]:
        raise PlanError(
            f"Plan file {source} is corrupt (its digest does not match its contents).",
            hint="Run `cohortops plan` again to make a new one.",
        )
    return plan


def _manifest(zf: zipfile.ZipFile, source: Path) -> Mapping[str, Any]:
    try:
        manifest = orjson.loads(zf.read(MANIFEST))
    except (KeyError, orjson.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise PlanError(f"{source} is not a cohortops plan file.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PlanError(f"Plan file {source} is corrupt (bad format_version {version!r}).")
    if version > FORMAT_VERSION:
        raise PlanError(
            f"Plan file {source} uses plan format {version}, newer than this cohortops "
            f"understands ({FORMAT_VERSION}).",
            hint="Upgrade cohortops, or run `cohortops plan` again with this version.",
        )
    if not isinstance(manifest.get("digest"), str):
        raise PlanError(f"Plan file {source} is corrupt (no digest).")
    return manifest


def _members(zf: zipfile.ZipFile, cohort: Mapping[str, Any]) -> tuple[IdArray, IdArray]:
    name = cohort.get("members_file")
    if name is None:
        return empty_ids(), empty_ids()
    if not isinstance(name, str):
        raise TypeError("members_file is not a string")
    table = pq.read_table(pa.BufferReader(zf.read(name)))
    ids, remove = table.column("id").combine_chunks(), table.column("remove").combine_chunks()
    if ids.null_count or remove.null_count:
        raise ValueError("null member id")
    return _compact(ids.filter(pc.invert(remove))), _compact(ids.filter(remove))


def _compact(ids: pa.Array) -> IdArray:
    """Back to ``string`` unless the ids need 64-bit offsets (over 2 GiB of text)."""
    compact: IdArray = ids
    with contextlib.suppress(pa.ArrowException):
        compact = ids.cast(pa.string())
    return compact
