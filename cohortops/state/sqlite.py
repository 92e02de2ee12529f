"""SQLite backend: one file (WAL, synchronous=NORMAL), snapshots and an flock file beside it.

Layout for the default ``.cohortops/state.db``::

    .cohortops/state.db              tables (WAL mode: also state.db-wal, state.db-shm)
    .cohortops/state.db.lock         flock held by the lock holder; the OS drops it on death
    .cohortops/state.snapshots/      compacted Parquet snapshots, hashes recorded in the db
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from pathlib import Path

from cohortops.config.model import StateConfig
from cohortops.errors import StateError
from cohortops.state import schema
from cohortops.state.logs import StoreOptions
from cohortops.state.snapstore import FileSnapshots
from cohortops.state.sqlcore import SQLITE, Db, Tx, ensure_schema
from cohortops.state.sqlstore import SqlStore

DEFAULT_PATH = Path(".cohortops") / "state.db"
_CREATING_SECONDS = 3.0


def state_path(config: StateConfig, cwd: Path) -> Path:
    """The sqlite state file ``config`` names (the default one when unset), relative to ``cwd``."""
    path = config.path if config.path is not None else DEFAULT_PATH
    return path if path.is_absolute() else cwd / path


def snapshots_dir(path: Path) -> Path:
    """The directory of compacted snapshots beside the state file ``path``."""
    return path.parent / f"{path.stem}.snapshots"


def lock_path(path: Path) -> Path:
    """The lock file beside the state file ``path``."""
    return path.parent / f"{path.name}.lock"


class FileLock:
    """An flock on a lock file; ``state unlock`` unlinks the file so the next holder gets a new one.

    flock (not POSIX record locks) because it belongs to the open file, so two stores in one
    process exclude each other too, and closing an unrelated descriptor never drops it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _open_locked(self) -> int | None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise StateError(
                    f"Cannot open the state lock file {self.path}: {exc.strerror}.",
                    hint="Check the permissions of the state directory.",
                ) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # unlinked by `state unlock` between open and flock: take the new one

    def try_acquire(self) -> bool:
        self._fd = self._open_locked()
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def busy(self) -> bool:
        if not self.path.exists():
            return False
        fd = self._open_locked()
        if fd is None:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        return False

    def invalidate(self, tx: Tx) -> None:
        pass

    def after_invalidate(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _recovery(path: Path) -> str:
    snapshots = snapshots_dir(path)
    kept = f"; the snapshots directory {snapshots} is still there" if snapshots.exists() else ""
    return (
        f"Restore the last backup with `cohortops state restore BACKUP`{kept}. Only if no "
        "backup exists, move the file away to start an empty state (every member is then "
        "planned again and none removed)."
    )


def _corrupt(path: Path, exc: BaseException | str) -> StateError:
    return StateError(
        f"State file {path} is not a valid cohortops state ({exc}).",
        hint=_recovery(path),
    )


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise StateError(f"State file {path} cannot use WAL mode (got {mode}).")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        # 64 MiB page cache (default 2 MiB). It was sized for a per-member audit b-tree, since
        # replaced by member_index's blocks, and not re-measured: large single transactions
        # (an index refresh, a big apply's audit entries) still spill a full cache mid-commit.
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA journal_size_limit=67108864")  # give the WAL back after a big load
    except BaseException:
        conn.close()
        raise
    return conn


def _has_no_tables(db: Db) -> bool:
    with db.read("reading the state tables") as tx:
        found = tx.scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'cohortops_meta'"
        )
    return not found


_HEADER = b"SQLite format 3\x00"


def _check_header(path: Path, mtime: float) -> None:
    """Before SQLite touches it (it would turn an empty file into an empty database)."""
    while True:
        with path.open("rb") as handle:
            head = handle.read(len(_HEADER))
        if head == _HEADER:
            return
        if time.time() - mtime >= _CREATING_SECONDS:
            break
        time.sleep(0.05)  # another process created it a moment ago and is setting it up
    size = path.stat().st_size
    raise _corrupt(path, "empty file" if size == 0 else f"{size} bytes, not an SQLite database")


def _being_created(db: Db, mtime: float) -> bool:
    """Another process created the file a moment ago and is creating its tables: wait."""
    while time.time() - mtime < _CREATING_SECONDS:
        time.sleep(0.05)
        if not _has_no_tables(db):
            return True
    return False


def _needs_setup(db: Db) -> bool:
    """Readers must not take the write lock just to find the tables already there."""
    try:
        with db.read("reading the state version") as tx:
            version = tx.scalar("SELECT schema_version FROM cohortops_meta WHERE id = 1")
    except StateError as exc:
        if isinstance(exc.__cause__, sqlite3.OperationalError) and "no such table" in str(exc):
            return True
        raise
    return bool(version != schema.SCHEMA_VERSION)


def open_sqlite(config: StateConfig, cwd: Path, options: StoreOptions) -> SqlStore:
    path = state_path(config, cwd)
    if path.is_dir():
        raise StateError(f"State path {path} is a directory; state.path must name a file.")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created here, owner-only (it holds user ids and the audit log); SQLite gives its
        # -wal and -shm files the database file's permissions.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.close(fd)
        fresh = True
    except FileExistsError:
        fresh = False
    except OSError as exc:
        raise StateError(f"Cannot create the state directory {path.parent}: {exc}.") from exc
    location = f"sqlite state {path}"
    before = path.stat()
    if not fresh:
        _check_header(path, before.st_mtime)
    try:
        conn = _connect(path)
    except sqlite3.DatabaseError as exc:
        raise _corrupt(path, exc) from exc
    db = Db(conn, SQLITE, location, (sqlite3.Error,))
    try:
        if not fresh and _has_no_tables(db) and not _being_created(db, before.st_mtime):
            size = before.st_size
            raise _corrupt(path, "empty file" if size == 0 else f"{size} bytes, no state tables")
        if _needs_setup(db):
            with db.transaction("BEGIN IMMEDIATE", "creating the state tables") as tx:
                ensure_schema(tx, options, location)
    except StateError as exc:
        db.close()
        cause = exc.__cause__
        if isinstance(cause, sqlite3.DatabaseError) and not isinstance(
            cause, sqlite3.OperationalError
        ):
            raise _corrupt(path, cause) from cause
        raise
    snapshots = FileSnapshots(snapshots_dir(path))
    lock = lock_path(path)
    return SqlStore(db, snapshots, lambda: FileLock(lock), options)
