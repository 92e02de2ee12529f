"""`state backup` / `state restore` for the SQLite backend: the database and its snapshots.

A backup is a directory (0700) holding ``state.db`` (SQLite's online backup: a consistent copy,
0600) and ``snapshots/`` (the compacted Parquet files the database refers to). It is taken under
the state lock, so no compaction removes a snapshot while it is copied. Restoring needs no
readable state (that is when it is needed): it checks the backup, takes the lock file, moves the
damaged file aside and puts the backup in place. PostgreSQL states are backed up with the
database's own tools (``pg_dump`` of the schema).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from pathlib import Path

from cohortops.config.model import StateConfig
from cohortops.errors import StateError
from cohortops.state.sqlite import FileLock, lock_path, snapshots_dir, state_path

_DB = "state.db"
_SNAPS = "snapshots"


def sqlite_path(config: StateConfig, cwd: Path) -> Path:
    if config.backend != "sqlite":
        raise StateError(
            "state backup/restore handles the sqlite backend; this state is in PostgreSQL.",
            hint="Back the schema up with pg_dump and restore it with pg_restore.",
        )
    return state_path(config, cwd)


def default_destination(path: Path, now: dt.datetime) -> Path:
    return path.parent / f"{path.name}.backup-{now.strftime('%Y%m%dT%H%M%SZ')}"


def backup(path: Path, destination: Path) -> Path:
    """Copy the state at ``path`` into the new directory ``destination``. Call it under the
    state lock."""
    try:
        destination.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        raise StateError(f"Backup destination {destination} already exists.") from None
    target = destination / _DB
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    snaps = destination / _SNAPS
    snaps.mkdir(mode=0o700)
    if snapshots_dir(path).is_dir():
        for file in snapshots_dir(path).glob("*.parquet"):
            shutil.copy2(file, snaps / file.name)
    return destination


def _check_backup(backup_dir: Path) -> Path:
    db = backup_dir / _DB
    if not db.is_file():
        raise StateError(
            f"{backup_dir} is not a cohortops backup (no {_DB} in it).",
            hint="Name a directory written by `cohortops state backup`.",
        )
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            meta = conn.execute("SELECT schema_version FROM cohortops_meta WHERE id = 1").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StateError(f"Backup {db} is not a valid cohortops state ({exc}).") from exc
    if ok is None or ok[0] != "ok" or meta is None:
        raise StateError(f"Backup {db} is not a valid cohortops state.")
    return db


def restore(path: Path, backup_dir: Path, now: dt.datetime) -> Path | None:
    """Put the backup in place of the state at ``path``; returns where the old file went."""
    db = _check_backup(backup_dir)
    lock = FileLock(lock_path(path))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not lock.try_acquire():
        raise StateError(
            f"The state {path} is locked by a running process; stop it before restoring.",
            hint="`cohortops state unlock LOCK_ID` if its holder is gone.",
        )
    try:
        moved: Path | None = None
        if path.exists():
            moved = path.parent / f"{path.name}.replaced-{now.strftime('%Y%m%dT%H%M%SZ')}"
            os.replace(path, moved)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        staged = path.parent / f".{path.name}.restoring"
        staged.unlink(missing_ok=True)
        os.close(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        shutil.copyfile(db, staged)
        snaps = snapshots_dir(path)
        snaps.mkdir(mode=0o700, exist_ok=True)
        for file in (backup_dir / _SNAPS).glob("*.parquet"):
            if not (snaps / file.name).exists():
                shutil.copy2(file, snaps / file.name)
        os.replace(staged, path)
    finally:
        lock.release()
    return moved
