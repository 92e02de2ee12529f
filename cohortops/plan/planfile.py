"""The saved plan: one portable file holding the exact member-level changes.

A ZIP archive: ``manifest.json`` (kind, format version, digest), ``plan.json`` (the plan without
member ids) and, per cohort with member changes, ``members/NNNNN.parquet`` (zstd; columns ``id``
and ``remove``). The digest covers the plan and every id, so a reviewed plan is the applied one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import struct
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from cohortops.errors import PlanError
from cohortops.membership import IdArray
from cohortops.membership.spilled import empty_ids
from cohortops.plan.codec import plan_from_dict, plan_to_dict
from cohortops.plan.member_file import id_pieces, read_members, write_members
from cohortops.plan.model import FORMAT_VERSION, Plan

KIND = "cohortops-plan"
MANIFEST = "manifest.json"
PLAN_JSON = "plan.json"
KEY_ENV = "COHORTOPS_PLAN_KEY"
SIGNATURE_ALG = "hmac-sha256"
# Decompressed-size bounds (zip bombs): the manifest and plan.json hold no member ids.
MAX_MANIFEST_BYTES = 1 << 20
MAX_PLAN_JSON_BYTES = 256 << 20


def plan_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The plan-signing key (``COHORTOPS_PLAN_KEY``), or None when unset or empty."""
    value = (os.environ if environ is None else environ).get(KEY_ENV, "")
    return value.encode() if value else None


def _mac(key: bytes, digest: str) -> str:
    return hmac.new(key, f"{KIND}:{digest}".encode(), hashlib.sha256).hexdigest()


def signing_line(signed: bool, verified: bool) -> str:
    """What the plan header says about the file's signature."""
    if signed and verified:
        return f"Plan file: signed ({SIGNATURE_ALG}, verified with {KEY_ENV})."
    if signed:
        return f"Plan file: signed, NOT verified ({KEY_ENV} is not set here)."
    return f"Plan file: UNSIGNED (anyone who can edit it can change it; set {KEY_ENV} to sign)."


def plan_digest(plan: Plan) -> str:
    """sha256 over the canonical plan data and every member id, in order."""
    h = hashlib.sha256()
    h.update(orjson.dumps(plan_to_dict(plan), option=orjson.OPT_SORT_KEYS))
    for cp in plan.cohorts:
        _hash_ids(h.update, cp.to_add)
        _hash_ids(h.update, cp.to_remove)
    return h.hexdigest()


def _hash_ids(update: Callable[[bytes | memoryview], None], ids: IdArray) -> None:
    """Length-prefixed ids, independent of string vs large_string, chunking, slicing or spilling.

    Hashes 8-byte lengths of every id, then every id's bytes, one row group at a time, so a
    10M-id set is never decoded or copied whole."""
    update(struct.pack("<q", len(ids)))
    if len(ids) == 0:
        return
    for part in id_pieces(ids):
        lengths = pc.binary_length(part).cast(pa.int64())
        update(
            memoryview(lengths.buffers()[1])[lengths.offset * 8 : (lengths.offset + len(part)) * 8]
        )
    for part in id_pieces(ids):
        part = part.cast(pa.large_string())
        offsets = part.buffers()[1]
        start = struct.unpack_from("<q", offsets, part.offset * 8)[0]
        end = struct.unpack_from("<q", offsets, (part.offset + len(part)) * 8)[0]
        update(memoryview(part.buffers()[2])[start:end])


def write_plan(
    plan: Plan, path: str | os.PathLike[str], key: bytes | Literal["env"] | None = "env"
) -> bool:
    """Write ``plan`` atomically: readers see the old file or the complete new one.

    Signed (HMAC-SHA256 over the digest) when a key is given or ``COHORTOPS_PLAN_KEY`` is set;
    returns whether it was signed.
    """
    target = Path(path)
    data = plan_to_dict(plan)
    digest = plan_digest(plan)
    manifest: dict[str, Any] = {"kind": KIND, "format_version": FORMAT_VERSION, "digest": digest}
    secret = plan_key() if key == "env" else key
    if secret is not None:
        manifest["signature"] = {"alg": SIGNATURE_ALG, "mac": _mac(secret, digest)}
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
                        write_members(zf, name, cp.to_add, cp.to_remove)
                zf.writestr(PLAN_JSON, orjson.dumps(data, option=orjson.OPT_INDENT_2))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return secret is not None


def read_plan(path: str | os.PathLike[str], key: bytes | Literal["env"] | None = "env") -> Plan:
    """Read a plan file; a missing, foreign, corrupt, oversized, newer, unsigned (when a key is
    set) or mis-signed file raises a one-line PlanError."""
    return read_plan_checked(path, key)[0]


def read_plan_checked(
    path: str | os.PathLike[str], key: bytes | Literal["env"] | None = "env"
) -> tuple[Plan, str]:
    """The plan and the header line saying how it is signed."""
    source = Path(path)
    secret = plan_key() if key == "env" else key
    if not source.is_file():
        raise PlanError(
            f"Plan file {source} does not exist.", hint="Save one with `cohortops plan --out FILE`."
        )
    try:
        with zipfile.ZipFile(source) as zf:
            manifest = _manifest(zf, source)
            signed = _check_signature(manifest, secret, source)
            data = orjson.loads(_bounded(zf, PLAN_JSON, MAX_PLAN_JSON_BYTES, source))
            plan = plan_from_dict(data, lambda _i, c: _members(zf, c, source))
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
    return plan, signing_line(signed, secret is not None)


def _check_signature(manifest: Mapping[str, Any], key: bytes | None, source: Path) -> bool:
    signature = manifest.get("signature")
    signed = isinstance(signature, dict)
    if key is None:
        return signed
    if not signed:
        raise PlanError(
            f"Plan file {source} is unsigned, and {KEY_ENV} is set: refusing it.",
            hint=f"Make the plan where {KEY_ENV} is set (the same key), then apply that file.",
        )
    assert isinstance(signature, dict)
    mac = signature.get("mac")
    if signature.get("alg") != SIGNATURE_ALG or not isinstance(mac, str):
        raise PlanError(f"Plan file {source} has an unknown signature; refusing it.")
    if not hmac.compare_digest(mac, _mac(key, str(manifest["digest"]))):
        raise PlanError(
            f"Plan file {source} is not signed with this {KEY_ENV}: it was changed after it "
            "was made, or made with another key. Refusing it.",
            hint="Run `cohortops plan --out FILE` again and review that plan.",
        )
    return True


def _bounded(zf: zipfile.ZipFile, name: str, limit: int, source: Path) -> bytes:
    """An archive member, refused (one line) when it decompresses beyond ``limit``. zipfile
    stops at the declared size, so checking the declaration bounds what is inflated."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise PlanError(
            f"Plan file {source} is refused: {name} decompresses to {info.file_size:,} bytes, "
            f"over the {limit:,}-byte bound."
        )
    return zf.read(info)


def _manifest(zf: zipfile.ZipFile, source: Path) -> Mapping[str, Any]:
    try:
        manifest = orjson.loads(_bounded(zf, MANIFEST, MAX_MANIFEST_BYTES, source))
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


def _members(
    zf: zipfile.ZipFile, cohort: Mapping[str, Any], source: Path
) -> tuple[IdArray, IdArray]:
    name = cohort.get("members_file")
    if name is None:
        return empty_ids(), empty_ids()
    if not isinstance(name, str):
        raise TypeError("members_file is not a string")
    adds = cohort.get("adds")
    if not isinstance(adds, int) or isinstance(adds, bool) or adds < 0:
        raise TypeError("adds is not a count")
    return read_members(zf, name, adds, source)
