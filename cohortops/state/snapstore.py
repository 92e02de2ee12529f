"""Where compacted Parquet snapshots live: files beside the SQLite db, or chunks in PostgreSQL.

Protocol for a new snapshot (compaction, under the lock):
1. DuckDB writes it to :meth:`SnapshotStore.staging_path`;
2. :meth:`publish` makes it durable *inside* the write transaction that points the cohort at it
   (a file is fsynced and renamed into place before that transaction commits);
3. after the commit, :meth:`committed` and :meth:`discard` retire the old generation.
A crash between 2 and 3 leaves an unreferenced file, which :meth:`clean` removes later.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from cohortops.errors import StateError
from cohortops.state.sqlcore import Tx

CHUNK_BYTES = 8 * 1024 * 1024
RETIRED_GRACE_SECONDS = 900.0  # longer than any plan takes to read a snapshot
_STALE_TMP_SECONDS = 3600.0


@dataclass(frozen=True)
class SnapInfo:
    """A cohort's current snapshot as its row records it; ``ref is None``: no snapshot."""

    generation: int
    ref: str | None
    sha256: str | None
    size: int
    count: int


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def safe_name(cohort_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", cohort_id)[:80] or "_"


def _mismatch(cohort_id: str, path: Path) -> StateError:
    return StateError(
        f"Snapshot {path} of cohort {cohort_id} does not match the hash recorded in the state.",
        hint="Restore the state directory from a backup, or `cohortops state forget` the cohort.",
    )


class SnapshotStore(ABC):
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def staging_path(self, cohort_id: str, generation: int) -> Path:
        """A new, empty 0600 file in the (0700 when created) snapshot directory; writers
        truncate it, so the snapshot keeps owner-only permissions when published."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / f".{safe_name(cohort_id)}-{generation}.{uuid.uuid4().hex}.tmp"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        return path

    @abstractmethod
    def publish(self, tx: Tx, cohort_id: str, generation: int, staged: Path, sha: str) -> str:
        """Make ``staged`` durable and addressable inside ``tx``; returns the ref to record."""

    @abstractmethod
    def unpublish(self, staged: Path, ref: str | None) -> None:
        """Undo :meth:`publish` after the transaction failed."""

    @abstractmethod
    def committed(self, staged: Path, ref: str) -> None:
        """The transaction that records ``ref`` committed."""

    @abstractmethod
    def local_path(self, tx: Tx, cohort_id: str, info: SnapInfo) -> Path:
        """A local Parquet file holding the snapshot, checked against its recorded hash."""

    @abstractmethod
    def drop(self, tx: Tx, cohort_id: str, info: SnapInfo) -> None:
        """Inside ``tx``: forget the stored copy of ``info`` (no-op for files)."""

    @abstractmethod
    def discard(self, info: SnapInfo) -> None:
        """After commit: delete local files of a snapshot no row points to any more."""

    @abstractmethod
    def rename(self, tx: Tx, old: str, new: str) -> None: ...

    def retire(self, path: Path) -> None:
        """Mark a snapshot no row points to any more; :meth:`clean` deletes it after a grace.

        Readers (`plan`, `state show`) take no lock and may still be scanning the file a
        compaction just replaced, so it must outlive the compaction for a while.
        """
        with contextlib.suppress(FileNotFoundError):
            os.utime(path)  # mtime = retirement time

    def clean(self, referenced: set[str]) -> None:
        """Delete unreferenced files retired long enough ago (and crash leftovers)."""
        if not self.directory.is_dir():
            return
        now = time.time()
        for path in self.directory.iterdir():
            if path.name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    if now - path.stat().st_mtime > self._tmp_grace():
                        path.unlink()
            elif path.suffix == ".parquet" and self._ref_of(path) not in referenced:
                with contextlib.suppress(FileNotFoundError):
                    if now - path.stat().st_mtime > RETIRED_GRACE_SECONDS:
                        path.unlink()

    def _tmp_grace(self) -> float:
        return 0.0

    def _ref_of(self, path: Path) -> str:
        return path.name


class FileSnapshots(SnapshotStore):
    """SQLite: ``<db stem>.snapshots/<cohort>-<generation>-<sha>.parquet`` beside the db."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._verified: set[tuple[str, int, int]] = set()

    def publish(self, tx: Tx, cohort_id: str, generation: int, staged: Path, sha: str) -> str:
        _fsync_file(staged)
        # The random part keeps two cohorts with equal content and generation apart.
        name = f"{safe_name(cohort_id)}-{generation}-{sha[:16]}-{uuid.uuid4().hex[:8]}"
        final = self.directory / f"{name}.parquet"
        os.replace(staged, final)
        _fsync_dir(self.directory)
        return final.name

    def unpublish(self, staged: Path, ref: str | None) -> None:
        staged.unlink(missing_ok=True)
        if ref is not None:
            (self.directory / ref).unlink(missing_ok=True)

    def committed(self, staged: Path, ref: str) -> None:
        pass

    def local_path(self, tx: Tx, cohort_id: str, info: SnapInfo) -> Path:
        assert info.ref is not None
        path = self.directory / info.ref
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise StateError(
                f"Snapshot {path} of cohort {cohort_id} is missing.",
                hint="Restore the state directory from a backup, "
                "or `cohortops state forget` the cohort.",
            ) from None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._verified:
            # Hash once per process and file version: a 10M-member snapshot hashes in ~0.1 s.
            if (info.sha256, info.size) != file_digest(path):
                raise _mismatch(cohort_id, path)
            self._verified.add(key)
        return path

    def drop(self, tx: Tx, cohort_id: str, info: SnapInfo) -> None:
        pass

    def discard(self, info: SnapInfo) -> None:
        if info.ref is not None:
            self.retire(self.directory / info.ref)

    def rename(self, tx: Tx, old: str, new: str) -> None:
        pass  # the row keeps the file name; the next compaction writes one under the new id


class BlobSnapshots(SnapshotStore):
    """PostgreSQL: bytea chunks in the database, materialised into a local cache to read.

    Cache files are named by the ref (cohort, generation, content hash), so one is written once,
    after its hash checked out, and is never stale.
    """

    def publish(self, tx: Tx, cohort_id: str, generation: int, staged: Path, sha: str) -> str:
        with staged.open("rb") as handle:
            chunk_no = 0
            while chunk := handle.read(CHUNK_BYTES):
                tx.execute(
                    "INSERT INTO cohortops_snapshot_chunks (cohort_id, generation, chunk_no, data) "
                    "VALUES (?, ?, ?, ?)",
                    (cohort_id, generation, chunk_no, chunk),
                )
                chunk_no += 1
        return f"{safe_name(cohort_id)}-{generation}-{sha}"

    def unpublish(self, staged: Path, ref: str | None) -> None:
        staged.unlink(missing_ok=True)

    def committed(self, staged: Path, ref: str) -> None:
        os.replace(staged, self.directory / f"{ref}.parquet")

    def local_path(self, tx: Tx, cohort_id: str, info: SnapInfo) -> Path:
        assert info.ref is not None
        path = self.directory / f"{info.ref}.parquet"
        if path.exists() and path.stat().st_size == info.size:
            return path  # written only after its hash was checked, under a name holding the hash
        staged = self.staging_path(cohort_id, info.generation)
        digest = hashlib.sha256()
        size = 0
        try:
            with staged.open("wb") as handle:
                for chunk_no in range(info.size // CHUNK_BYTES + 1):
                    row = tx.one(
                        "SELECT data FROM cohortops_snapshot_chunks "
                        "WHERE cohort_id = ? AND generation = ? AND chunk_no = ?",
                        (cohort_id, info.generation, chunk_no),
                    )
                    if row is None:
                        break
                    data = bytes(row[0])
                    digest.update(data)
                    size += len(data)
                    handle.write(data)
            if (digest.hexdigest(), size) != (info.sha256, info.size):
                raise _mismatch(cohort_id, path)
            os.replace(staged, path)
        finally:
            staged.unlink(missing_ok=True)
        return path

    def drop(self, tx: Tx, cohort_id: str, info: SnapInfo) -> None:
        tx.execute(
            "DELETE FROM cohortops_snapshot_chunks WHERE cohort_id = ? AND generation = ?",
            (cohort_id, info.generation),
        )

    def discard(self, info: SnapInfo) -> None:
        if info.ref is not None:
            self.retire(self.directory / f"{info.ref}.parquet")

    def rename(self, tx: Tx, old: str, new: str) -> None:
        tx.execute(
            "UPDATE cohortops_snapshot_chunks SET cohort_id = ? WHERE cohort_id = ?", (new, old)
        )

    def _tmp_grace(self) -> float:
        return _STALE_TMP_SECONDS  # readers materialise without the lock; spare their files

    def _ref_of(self, path: Path) -> str:
        return path.stem
