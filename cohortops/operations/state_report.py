"""What `state list|show|forget|unlock` print and do: the recorded cohorts, one cohort, repairs.

Each function takes a store and returns lines (or JSON), so the CLI stays thin and tests need no
terminal.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cohortops.apply.actor import Actor
from cohortops.config.rules import suggest
from cohortops.errors import StateError
from cohortops.operations.report_format import iso, to_json, when
from cohortops.state import Store
from cohortops.state.snapshot import LockInfo

if TYPE_CHECKING:
    from cohortops.operations.context import App


def state_list_lines(store: Store, fmt: str = "text") -> Iterator[str]:
    snap = store.snapshot()
    if not snap.lineage and fmt != "json":  # no state yet: read-only commands create none
        yield "No state yet: the first `cohortops apply` creates it."
        return
    if fmt == "json":
        yield to_json(
            {
                "state": store.location,
                "lineage": snap.lineage or None,  # null: no state yet
                "serial": snap.serial,
                "cohorts": [
                    {
                        "cohort_id": cohort_id,
                        "members": rec.member_count,
                        "last_apply_at": iso(rec.last_apply_at),
                    }
                    for cohort_id, rec in sorted(snap.cohorts.items())
                ],
            }
        )
        return
    yield f"Recorded in {store.location} — lineage {snap.lineage}, serial {snap.serial}"
    if not snap.cohorts:
        yield "No cohorts recorded yet. Run `cohortops apply`."
        return
    width = max(len(c) for c in snap.cohorts)
    for cohort_id, rec in sorted(snap.cohorts.items()):
        yield (
            f"  {cohort_id:<{width}}  {rec.member_count:>12,} members  "
            f"last apply {when(rec.last_apply_at)}"
        )


def state_show_lines(store: Store, cohort_id: str, limit: int, fmt: str = "text") -> Iterator[str]:
    snap = store.snapshot()
    rec = snap.cohorts.get(cohort_id)
    if rec is None:
        raise StateError(
            f"Cohort '{cohort_id}' is not in the state"
            f"{suggest(cohort_id, sorted(snap.cohorts))}; `cohortops state list` shows what is."
        )
    if fmt == "json":
        members = store.members_iter(cohort_id)
        yield to_json(
            {
                "cohort_id": cohort_id,
                "members": rec.member_count,
                "serial": snap.serial,
                "lineage": snap.lineage,
                "created_at": iso(rec.created_at),
                "last_apply_at": iso(rec.last_apply_at),
                "braze_name": rec.remote_name,
                "settings": dict(rec.settings),
                "member_ids": list(itertools.islice(members, limit or None)),
            }
        )
        return
    yield f"cohort:      {cohort_id}"
    yield f"members:     {rec.member_count:,}"
    yield f"serial:      {snap.serial} (lineage {snap.lineage})"
    yield f"created:     {when(rec.created_at)}"
    yield f"last apply:  {when(rec.last_apply_at)}"
    if rec.remote_name is not None:
        yield f"braze name:  {rec.remote_name}"
    yield "settings:    " + json.dumps(dict(rec.settings), sort_keys=True)
    for shown, member in enumerate(store.members_iter(cohort_id)):
        if limit and shown >= limit:
            yield f"  … {rec.member_count - shown:,} more (--limit 0 lists all)"
            break
        yield f"  {member}"


def forget(store: Store, cohort_id: str, actor: Actor) -> str:
    with store.lock("state forget", actor.who):
        snap = store.snapshot()
        rec = snap.cohorts.get(cohort_id)
        if rec is None:
            raise StateError(f"Cohort '{cohort_id}' is not in the state; nothing to forget.")
        store.forget_cohort(cohort_id)
        store.append_audit(
            "state.forget", actor.who, cohort_id, {"members": rec.member_count, **actor.as_dict()}
        )
        store.flush()
    return (
        f"Forgot cohort '{cohort_id}' ({rec.member_count:,} members) without touching Braze. "
        "Its members stay in Braze; the next plan treats the cohort as new if it is declared."
    )


def holder_alive(info: LockInfo) -> bool:
    """Whether the lock's holder is a live process on this machine (unknown elsewhere)."""
    if info.pid is None or info.host != socket.gethostname() or info.pid == os.getpid():
        return False
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def unlock(store: Store, lock_id: str, actor: Actor, *, force: bool = False) -> str:
    """Remove a lock whose holder is gone (or, with ``force``, a live one), audited."""
    current = store.current_lock()
    alive = current is not None and current.id == lock_id and holder_alive(current)
    if current is not None and alive and not force:
        raise StateError(
            f"Lock {lock_id} is held by a live process: pid {current.pid} on {current.host} "
            f"({current.describe()}).",
            hint="Stop that process (Ctrl-C or SIGTERM lets it record what it sent), or pass "
            "--force to unlock anyway.",
        )
    info = store.unlock(lock_id)
    with store.lock("state unlock", actor.who):
        store.append_audit(
            "state.unlock",
            actor.who,
            None,
            {
                "lock_id": info.id,
                "holder": info.who,
                "operation": info.operation,
                "holder_pid": info.pid,
                "holder_host": info.host,
                "holder_alive": alive,
                "forced": force,
                **actor.as_dict(),
            },
        )
        store.flush()
    return f"Removed {info.describe()}; recorded in the audit log."


def backup_state(app: App, destination: Path | None) -> str:
    from cohortops.state.backup import backup, default_destination, sqlite_path

    path = sqlite_path(app.config.state, Path.cwd())
    target = destination or default_destination(path, dt.datetime.now(dt.UTC))
    with app.store() as store, store.lock("state backup", app.actor().who):
        backup(path, target)
    return f"Backed up {path} to {target}."


def restore_state(app: App, backup_dir: Path) -> str:
    from cohortops.state.backup import restore, sqlite_path

    path = sqlite_path(app.config.state, Path.cwd())
    moved = restore(path, backup_dir, dt.datetime.now(dt.UTC))
    kept = f" The replaced file is kept as {moved}." if moved else ""
    actor = app.actor()
    with app.store() as store, store.lock("state restore", actor.who):
        store.append_audit(
            "state.restore", actor.who, None, {"from": str(backup_dir), **actor.as_dict()}
        )
        store.flush()
    return f"Restored {path} from {backup_dir}.{kept}"
