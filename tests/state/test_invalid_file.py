"""An existing state file that is not a valid state is an error, never a new empty state."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cohortops.config.model import StateConfig
from cohortops.errors import StateError
from cohortops.state import open_store


def _old(path: Path) -> None:
    then = time.time() - 60
    os.utime(path, (then, then))


def _valid(path: Path) -> None:
    store = open_store(StateConfig(path=path), cwd=path.parent)
    with store.lock("apply", "t@ci"):
        store.upsert_cohort("c", {})
        store.record_batch("c", "add", ["u1"])
        store.flush()
    store.close()


@pytest.mark.parametrize("damage", ["empty", "truncated", "random"])
def test_a_damaged_state_file_is_named_with_its_recovery(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "state.db"
    _valid(path)
    for extra in ("state.db-wal", "state.db-shm"):
        (tmp_path / extra).unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(
        {"empty": b"", "truncated": data[:100], "random": os.urandom(len(data))}[damage]
    )
    _old(path)
    with pytest.raises(StateError) as caught:
        open_store(StateConfig(path=path), cwd=tmp_path)
    assert str(path) in str(caught.value) and "not a valid cohortops state" in str(caught.value)
    hint = caught.value.hint or ""
    assert "cohortops state restore" in hint
    assert path.stat().st_size == {"empty": 0, "truncated": 100}.get(damage, len(data))


def test_the_hint_points_at_the_snapshots_left_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"")
    (tmp_path / "state.snapshots").mkdir()
    _old(path)
    with pytest.raises(StateError) as caught:
        open_store(StateConfig(path=path), cwd=tmp_path)
    assert str(tmp_path / "state.snapshots") in (caught.value.hint or "")


def test_a_missing_file_is_still_a_new_state(tmp_path: Path) -> None:
    open_store(StateConfig(path=tmp_path / "new" / "state.db"), cwd=tmp_path).close()


def test_backup_then_restore_over_an_emptied_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cohortops.cli import main

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "c.yaml").write_text("version: 1\nstate: {backend: sqlite, path: st/state.db}\n")
    monkeypatch.chdir(tmp_path)
    path = configs / "st" / "state.db"
    _valid(path)

    def run(*argv: str) -> int:
        try:
            main(
                [*argv, "-c", str(configs)]
                if argv[0] != "state"
                else [argv[0], argv[1], "-c", str(configs), *argv[2:]]
            )
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    assert run("state", "backup", str(tmp_path / "bk")) == 0
    assert (tmp_path / "bk" / "state.db").stat().st_mode & 0o777 == 0o600
    path.write_bytes(b"")
    for extra in ("state.db-wal", "state.db-shm"):
        (path.parent / extra).unlink(missing_ok=True)
    _old(path)
    assert run("state", "list") == 1
    assert run("state", "restore", str(tmp_path / "bk")) == 0
    store = open_store(StateConfig(path=path), cwd=tmp_path)
    assert set(store.members_iter("c")) == {"u1"}
    assert [e.kind for e in store.audit_entries()][-1] == "state.restore"
    store.close()
